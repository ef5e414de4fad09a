"""Dunning over the hub's tables: policies kept in the database, cases and their history
read back as the pure core's types.

Policies live in ``dunningpolicy`` as YAML per (name, version). The shipped files
(``hub/dunning/policies/*.yaml``) are stored as version 1 the first time a policy is
asked for; :func:`save_policy` validates an edited text and stores it as the next
version. A case remembers the policy name and version it started with, so editing a
policy never changes the rules for cases already running::

    policy = current_policy(session, "default", clock=clock)
    policy = save_policy(session, yaml_text, actor="user:3", clock=clock)   # version 2

Segmentation rules (which policy a member gets) are kept the same way in
``dunningsegments``, one YAML text per version; the shipped ``segments.yaml`` is
version 1 and :func:`save_segmentation` stores an edit as the next one::

    rules = current_segmentation(session, clock=clock)
    save_segmentation(session, yaml_text, actor="user:3", clock=clock)        # version 2

:func:`case_view` turns a ``dunningcase`` row into a :class:`hub.dunning.case.DunningCase`
(the member's own language, else the site's billing profile's; the site's timezone;
saved methods by id; contact channels from the member's email and phone; whether they
unsubscribed from marketing) and :func:`history_of` turns its
``dunningaction`` rows into :class:`hub.dunning.case.HistoryEntry` items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.declines import DeclineReason
from hub.billing.desk import amount_paid
from hub.dunning.case import DunningCase as CoreCase
from hub.dunning.case import HistoryEntry, PaymentMethod
from hub.dunning.kinds import ActionKind, CaseStatus, Channel, Outcome
from hub.dunning.policy import BUILTIN_POLICY_DIR, Policy, PolicyError, load_policy_text
from hub.dunning.segments import (
    BUILTIN_SEGMENTS,
    MemberProfile,
    Segmentation,
    load_segmentation_text,
)
from hub.models import (
    AttemptStatus,
    BillingProfile,
    ChargeAttempt,
    DunningAction,
    DunningCase,
    DunningPolicyRow,
    DunningSegmentsRow,
    Invoice,
    Member,
    Payment,
    Plan,
    Site,
    Subscription,
)
from hub.models import (
    PaymentMethod as MethodRow,
)

#: Parsed policies by (name, version, text): rows never change, so each is parsed once.
_policies: dict[tuple[str, int, str], Policy] = {}


#: Parsed segmentation rules by (version, text).
_segmentations: dict[tuple[int, str], Segmentation] = {}


def _parsed(name: str, version: int, text: str) -> Policy:
    """The policy of a stored row (parsed once per process: rows never change)."""
    found = _policies.get((name, version, text))
    if found is None:
        parsed = load_policy_text(text, source=f"{name} v{version}")
        # the row's version wins: an edited text may still say the version it came from
        found = _policies[(name, version, text)] = parsed.model_copy(update={"version": version})
    return found


def _seed(session: Session, name: str, clock: Clock) -> DunningPolicyRow | None:
    """Store shipped policy *name* unless a version of it is stored (two workers seeding
    at once store it once: the insert does nothing on a conflict)."""
    path = BUILTIN_POLICY_DIR / f"{name}.yaml"
    if not path.exists():
        return None
    text = path.read_text("utf-8")
    version = load_policy_text(text, source=path.name).version
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(DunningPolicyRow)
        .values(name=name, version=version, text=text, created_by="shipped",
                created_at=clock.now())
        .on_conflict_do_nothing()
    )  # fmt: skip
    return session.exec(
        select(DunningPolicyRow).where(
            DunningPolicyRow.name == name, DunningPolicyRow.version == version
        )
    ).one()


def seed_shipped_policies(session: Session, *, clock: Clock) -> None:
    """Store every shipped policy that has no stored version yet."""
    stored = set(session.exec(select(DunningPolicyRow.name).distinct()))
    for path in sorted(BUILTIN_POLICY_DIR.glob("*.yaml")):
        if path.stem not in stored:
            _seed(session, path.stem, clock)


def policy_row(
    session: Session, name: str, *, clock: Clock, version: int | None = None
) -> DunningPolicyRow:
    """The stored row of policy *name* (newest, or *version*); a shipped policy is stored
    on first use. Raises :class:`LookupError` for an unknown name or version."""
    q = select(DunningPolicyRow).where(DunningPolicyRow.name == name)
    if version is not None:
        q = q.where(DunningPolicyRow.version == version)
    q = q.order_by(col(DunningPolicyRow.version).desc())
    row = session.exec(q).first()
    if row is None:
        stored = session.exec(
            select(func.count()).select_from(DunningPolicyRow).where(DunningPolicyRow.name == name)
        ).one()
        if not stored and _seed(session, name, clock) is not None:
            row = session.exec(q).first()
    if row is None:
        raise LookupError(f"no dunning policy {name!r}" + (f" v{version}" if version else ""))
    return row


def current_policy(session: Session, name: str, *, clock: Clock) -> Policy:
    """The newest version of policy *name*."""
    row = policy_row(session, name, clock=clock)
    return _parsed(row.name, row.version, row.text)


def policy_of_case(session: Session, case: DunningCase, *, clock: Clock) -> Policy:
    """The policy (and version) *case* runs under."""
    name = case.policy_name or "default"
    version = int(case.policy_version) if case.policy_version else None
    row = policy_row(session, name, clock=clock, version=version)
    return _parsed(row.name, row.version, row.text)


def save_policy(session: Session, text: str, *, actor: str, clock: Clock) -> Policy:
    """Validate *text* and store it as the next version of the policy it names.

    The stored version is one above the newest (the ``version`` in the text is
    replaced). Raises :class:`~hub.dunning.policy.PolicyError` listing every problem.
    """
    policy = load_policy_text(text)
    try:
        newest = policy_row(session, policy.name, clock=clock).version
    except LookupError:
        newest = 0
    version = newest + 1
    stored = policy.model_copy(update={"version": version})
    session.add(
        DunningPolicyRow(
            name=policy.name, version=version, text=text, created_by=actor, created_at=clock.now()
        )
    )
    session.flush()
    _policies[(policy.name, version, text)] = stored
    return stored


def policy_versions(session: Session, *, clock: Clock) -> list[DunningPolicyRow]:
    """Every stored policy version, by name then newest first (shipped ones seeded)."""
    seed_shipped_policies(session, clock=clock)
    rows = session.exec(select(DunningPolicyRow)).all()
    return sorted(rows, key=lambda r: (r.name, -r.version))


# -- cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseContext:
    """A case as the core sees it plus what the effectors need from the hub's rows."""

    row: DunningCase
    case: CoreCase
    member: Member
    site: Site
    club_name: str


def member_language(member: Member, profile: BillingProfile | None) -> str:
    """The language to write to *member* in: their own choice (set in the member
    portal), else the club's billing language, else English."""
    if member.language:
        return member.language
    return profile.language if profile is not None else "en"


def method_key(method_id: int) -> str:
    """A saved method's id as the core carries it (``'7'``)."""
    return str(method_id)


def case_view(session: Session, row: DunningCase, *, gateway: str) -> CaseContext:
    """The core's view of case *row* (its saved methods on *gateway*, default first)."""
    member = session.get(Member, row.member_id)
    invoice = session.get(Invoice, row.invoice_id)
    assert member is not None and invoice is not None
    site = session.get(Site, invoice.site_id)
    assert site is not None
    profile = session.get(BillingProfile, site.id)
    methods = session.exec(
        select(MethodRow)
        .where(
            MethodRow.member_id == row.member_id,
            MethodRow.gateway == gateway,
            col(MethodRow.detached_at).is_(None),
        )
        .order_by(col(MethodRow.is_default).desc(), col(MethodRow.id))
    ).all()
    saved = tuple(
        PaymentMethod(method_key(m.id or 0), label=m.label, is_default=m.is_default)
        for m in methods
    )
    ids = {m.method_id for m in saved}
    declined = method_key(row.declined_method_id) if row.declined_method_id else None
    channels = {Channel.EMAIL} | ({Channel.SMS} if member.phone else set())
    # What is left to pay: part payments at the desk or instalments shrink it.
    balance = invoice.total - amount_paid(session, invoice.id or 0)
    case = CoreCase(
        case_id=str(row.id),
        member_id=str(row.member_id),
        invoice_id=str(row.invoice_id),
        amount_minor=balance if balance > 0 else row.amount_minor,
        currency=row.currency,
        failed_at=row.failed_at,
        timezone=site.timezone,
        language=member_language(member, profile),
        payment_methods=saved,
        last_decline=DeclineReason(row.last_decline) if row.last_decline else None,
        declined_method_id=declined if declined in ids else None,
        status=CaseStatus(row.status),
        segment=row.segment or "standard",
        contact_channels=frozenset(channels),
        marketing_opt_out=member.marketing_opt_out_at is not None,
    )
    name = (profile.legal_name if profile is not None else None) or site.name
    return CaseContext(row=row, case=case, member=member, site=site, club_name=name)


def entry_of(action: DunningAction) -> HistoryEntry:
    """The history entry an outbox row stands for."""
    return HistoryEntry(
        key=action.key,
        kind=ActionKind(action.kind),
        at=action.done_at or action.created_at,
        outcome=Outcome(action.outcome),
        method_id=action.method_id,
        decline_reason=DeclineReason(action.decline_reason) if action.decline_reason else None,
        channel=Channel(action.channel) if action.channel else None,
        legal_notice=action.legal_notice,
    )


def history_of(session: Session, row: DunningCase) -> list[HistoryEntry]:
    """The case's own actions, plus the member's messages in their other cases (they
    count toward the frequency cap)."""
    actions = session.exec(
        select(DunningAction)
        .where(
            (DunningAction.case_id == row.id)
            | (
                (DunningAction.member_id == row.member_id)
                & (DunningAction.kind == ActionKind.SEND_MESSAGE.value)
            )
        )
        .order_by(col(DunningAction.id))
    ).all()
    return [entry_of(a) for a in actions]


# -- segmentation ----------------------------------------------------------------------


def member_profile(session: Session, row: DunningCase, *, now: datetime) -> MemberProfile:
    """What segmentation knows about the case's member."""
    member = session.get(Member, row.member_id)
    assert member is not None
    paid = session.exec(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.member_id == row.member_id, Payment.currency == row.currency
        )
    ).one()
    failures = session.exec(
        select(ChargeAttempt.created_at)
        .join(Invoice, col(Invoice.id) == ChargeAttempt.invoice_id)
        .where(
            Invoice.member_id == row.member_id,
            col(ChargeAttempt.status).in_(
                [AttemptStatus.DECLINED.value, AttemptStatus.FAILED.value]
            ),
        )
    ).all()
    plan_name = ""
    if row.subscription_id is not None:
        sub = session.get(Subscription, row.subscription_id)
        plan = session.get(Plan, sub.plan_id) if sub is not None else None
        plan_name = plan.name.lower() if plan is not None else ""
    return MemberProfile(
        member_id=str(row.member_id),
        lifetime_value_minor=int(paid),
        currency=row.currency,
        joined_at=member.created_at,
        plan=plan_name,
        failures=(*failures, row.failed_at),
    )


def _seed_segmentation(session: Session, clock: Clock) -> None:
    """Store the shipped rules as version 1 unless a version is stored."""
    if session.exec(select(DunningSegmentsRow.version)).first() is not None:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(DunningSegmentsRow)
        .values(version=1, text=BUILTIN_SEGMENTS.read_text("utf-8"), created_by="shipped",
                created_at=clock.now())
        .on_conflict_do_nothing()
    )  # fmt: skip


def segmentation_versions(session: Session, *, clock: Clock) -> list[DunningSegmentsRow]:
    """Every stored version of the segmentation rules, newest first (shipped one seeded)."""
    _seed_segmentation(session, clock)
    q = select(DunningSegmentsRow).order_by(col(DunningSegmentsRow.version).desc())
    return list(session.exec(q).all())


def _parsed_segmentation(row: DunningSegmentsRow) -> Segmentation:
    found = _segmentations.get((row.version, row.text))
    if found is None:
        found = load_segmentation_text(row.text, source=f"segments v{row.version}")
        _segmentations[(row.version, row.text)] = found
    return found


def current_segmentation(session: Session, *, clock: Clock) -> Segmentation:
    """The newest stored segmentation rules."""
    return _parsed_segmentation(segmentation_versions(session, clock=clock)[0])


def save_segmentation(session: Session, text: str, *, actor: str, clock: Clock) -> int:
    """Validate *text* and store it as the next version of the rules; returns it.

    Every policy a rule names must exist (shipped or stored). Cases already running
    keep the segment and policy they were given.

    :raises PolicyError: listing every problem.
    """
    known = {r.name for r in policy_versions(session, clock=clock)}
    load_segmentation_text(text, source="segments", policies=known)
    newest = segmentation_versions(session, clock=clock)[0].version
    session.add(
        DunningSegmentsRow(version=newest + 1, text=text, created_by=actor, created_at=clock.now())
    )
    session.flush()
    return newest + 1


def choose_policy(
    session: Session,
    row: DunningCase,
    *,
    clock: Clock,
    segmentation: Segmentation | None = None,
) -> Policy:
    """Pick the case's segment and policy (first time only) and remember them on the row."""
    if row.policy_name is None:
        rules = segmentation or current_segmentation(session, clock=clock)
        now = clock.now()
        profile = member_profile(session, row, now=now)
        try:
            choice = rules.choose(profile, now)
            segment, name = choice.segment, choice.policy
        except ValueError:  # lifetime value in another currency: the default rules
            segment, name = rules.default.segment, rules.default.policy
        try:
            policy = current_policy(session, name, clock=clock)
        except (LookupError, PolicyError):
            segment, policy = "standard", current_policy(session, "default", clock=clock)
        row.segment, row.policy_name, row.policy_version = segment, policy.name, str(policy.version)
        session.add(row)
        session.flush()
        return policy
    return policy_of_case(session, row, clock=clock)
