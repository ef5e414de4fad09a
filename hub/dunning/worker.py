"""The dunning worker: plan each open case's due actions into the outbox, then carry
them out, so that every charge and every message happens once.

::

    report = run_dunning(engine=engine, settings=settings, clock=clock,
                         gateway=gateway, mailer=mailer, sms=sms)
    report.planned, report.done

It runs as the ``dunning`` due hook (order 200, after the billing run) every time the
clock moves (``gatehouse hub clock advance``, ``gatehouse hub clock run-due``) and on its
own (``gatehouse hub dunning run``). Each round has two phases:

1. **Plan.** Claim open cases whose ``next_run_at`` has come (``FOR UPDATE SKIP
   LOCKED`` on PostgreSQL, so two workers take different cases), choose the case's
   segment and policy the first time, read its history from the outbox, call
   :func:`hub.dunning.engine.advance`, and insert each action as a ``pending``
   :class:`~hub.models.DunningAction` row -- the key is unique, so an action planned
   twice (by two workers, or after a crash) is recorded once. The case's
   ``next_run_at`` becomes :func:`~hub.dunning.engine.next_wakeup`. Commit.
2. **Effect.** Claim one pending outbox row at a time (``FOR UPDATE SKIP LOCKED``: the
   row stays locked while its effect runs, so no other worker can carry it out too; on
   SQLite a committed lease on the row does the same),
   carry it out (:mod:`hub.dunning.effects`) and mark it ``done`` with its outcome in
   the same transaction as any change it makes to the hub's tables. An effect whose
   result is not known yet (a mail server down, a gateway timeout) stays ``pending``
   and is tried again later with the same key; after :data:`MAX_TRIES` it is
   ``failed`` (an effector that raises counts the same, so one bad row never stops the
   worker). The case is planned again at once (a retry's answer may allow the day's
   messages).

Rounds repeat until nothing new is planned or done. A case under a payment plan is not
planned at all: its instalments are charged on their dates instead
(:mod:`hub.dunning.instalments`), until the plan is paid or broken.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.gateway import PaymentGateway
from hub.billing.run import open_session
from hub.core.config import Settings
from hub.dunning.actions import Action, action_from_dict, action_to_dict
from hub.dunning.effects import Effect, Effectors, sms_sender
from hub.dunning.engine import advance, next_wakeup
from hub.dunning.instalments import active_plan, charge_due_instalments
from hub.dunning.kinds import Outcome
from hub.dunning.mailer import Mailer
from hub.dunning.sms import SmsSender
from hub.dunning.store import case_view, choose_policy, history_of, seed_shipped_policies
from hub.models import ActionStatus, DunningAction, DunningCase, DunningCaseStatus

log = logging.getLogger(__name__)

#: Tries of an effect whose result stays unknown before the action is marked failed.
MAX_TRIES = 5
#: Wait before trying an effect again: this times the tries so far.
RETRY_BACKOFF = timedelta(minutes=10)
#: A case with nothing ahead but answers is looked at again after this long anyway.
RECHECK = timedelta(days=1)
#: How long a worker on SQLite holds an action it is carrying out (see :func:`effect_one`).
LEASE = timedelta(minutes=5)
#: Cases planned per transaction.
BATCH = 100


@dataclass
class DunningReport:
    """What one :func:`run_dunning` call did.

    :param planned: outbox rows recorded.
    :param done: actions finished (``done`` or ``failed``), of which *failed* failed.
    :param retried_later: tries whose result is not known yet (tried again later).
    """

    cases: int = 0
    planned: int = 0
    done: int = 0
    retried_later: int = 0
    failed: int = 0


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def plan_cases(
    session: Session,
    *,
    clock: Clock,
    gateway: str,
    limit: int = BATCH,
    after_id: int = 0,
    case_ids: Sequence[int] | None = None,
) -> tuple[list[int], int]:
    """Phase 1 for up to *limit* due cases with ids above *after_id*.

    Returns the claimed case ids and how many new outbox rows were recorded. The caller
    commits.
    """
    now = clock.now()
    q = (
        select(DunningCase)
        .where(
            DunningCase.status == DunningCaseStatus.OPEN.value,
            or_(col(DunningCase.next_run_at).is_(None), col(DunningCase.next_run_at) <= now),
            col(DunningCase.id) > after_id,
        )
        .order_by(col(DunningCase.id))
        .limit(limit)
    )
    if case_ids is not None:
        q = q.where(col(DunningCase.id).in_(list(case_ids)))
    if _is_pg(session):
        q = q.with_for_update(skip_locked=True)
    rows = session.exec(q.execution_options(populate_existing=True)).all()
    insert = pg_insert if _is_pg(session) else sqlite_insert
    recorded = 0
    for row in rows:
        if active_plan(session, row) is not None:
            row.next_run_at = now + RECHECK  # the payment plan drives the case now
            session.add(row)
            continue
        policy = choose_policy(session, row, clock=clock)
        ctx = case_view(session, row, gateway=gateway)
        history = history_of(session, row)
        actions = advance(ctx.case, now, policy, history)
        if actions:
            result = session.execute(
                insert(DunningAction)
                .values([_outbox_row(row, a, now) for a in actions])
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(DunningAction.id)
            )
            recorded += len(result.all())
        wake = next_wakeup(ctx.case, now, policy, history) if not actions else None
        row.next_run_at = wake or now + RECHECK
        session.add(row)
    session.flush()
    return [r.id or 0 for r in rows], recorded


def _outbox_row(case: DunningCase, action: Action, now: object) -> dict[str, object]:
    return {
        "case_id": case.id,
        "member_id": case.member_id,
        "key": action.key,
        "kind": str(action.kind),
        "step": action.step,
        "method_id": getattr(action, "method_id", None),
        "channel": str(getattr(action, "channel", "")) or None,
        "legal_notice": getattr(action, "legal_notice", False),
        "payload": action_to_dict(action),
        "status": ActionStatus.PENDING.value,
        "outcome": Outcome.PENDING.value,
        "tries": 0,
        "due_at": now,
        "created_at": now,
    }


def effect_one(
    session: Session, effectors: Effectors, *, case_ids: Sequence[int] | None = None
) -> Effect | None:
    """Phase 2 for one pending outbox row; ``None`` when none is claimable. Commits."""
    clock = effectors.clock
    now = clock.now()
    q = (
        select(DunningAction)
        .where(
            DunningAction.status == ActionStatus.PENDING.value,
            col(DunningAction.due_at) <= now,
        )
        .order_by(col(DunningAction.id))
        .limit(1)
    )
    if case_ids is not None:
        q = q.where(col(DunningAction.case_id).in_(list(case_ids)))
    if _is_pg(session):
        q = q.with_for_update(skip_locked=True)
    row = session.exec(q.execution_options(populate_existing=True)).first()
    if row is None:
        session.rollback()
        return None
    case = session.get(DunningCase, row.case_id)
    assert case is not None
    ctx = case_view(session, case, gateway=effectors.gateway.name)
    action = action_from_dict(row.payload)
    if not _is_pg(session):
        # SQLite has no row locks: take the row with a lease instead (a conditional
        # update, committed), so another process running a worker on the same file
        # leaves it alone until the lease runs out.
        taken = session.execute(
            update(DunningAction)
            .where(
                col(DunningAction.id) == row.id,
                DunningAction.status == ActionStatus.PENDING.value,
                col(DunningAction.due_at) <= now,
            )
            .values(due_at=now + LEASE)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        session.commit()
        if not taken:
            return Effect(None, error="taken by another worker")
    try:
        effect = effectors.carry_out(session, ctx, action)
    except Exception as err:  # one action gone wrong must not stop the others
        log.exception("dunning action %s failed", row.key)
        session.rollback()
        effect = Effect(None, error=f"{type(err).__name__}: {err}")
    row.tries += 1
    row.error = effect.error[:500] if effect.error else None
    if effect.charge_attempt_id is not None:
        row.charge_attempt_id = effect.charge_attempt_id
    if effect.outcome is None and row.tries < MAX_TRIES:
        row.due_at = clock.now() + RETRY_BACKOFF * row.tries
    else:
        outcome = effect.outcome or Outcome.FAILED
        row.outcome = outcome.value
        row.status = (
            ActionStatus.FAILED.value if outcome is Outcome.FAILED else ActionStatus.DONE.value
        )
        row.decline_reason = effect.decline_reason.value if effect.decline_reason else None
        row.done_at = clock.now()
    session.add(row)
    session.execute(
        update(DunningCase)
        .where(col(DunningCase.id) == row.case_id)
        .values(next_run_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return effect


def run_dunning(
    *,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    gateway: PaymentGateway,
    mailer: Mailer,
    sms: SmsSender | None = None,
    case_ids: Sequence[int] | None = None,
    max_rounds: int = 20,
) -> DunningReport:
    """Plan and carry out everything due for open cases (see the module documentation).

    :param case_ids: only these cases (default: every open case).
    """
    report = DunningReport()
    effectors = Effectors(engine, settings, clock, gateway, mailer, sms or sms_sender(settings))
    with open_session(engine, settings) as session:
        seed_shipped_policies(session, clock=clock)
        session.commit()
    if case_ids is None:
        charge_due_instalments(engine=engine, settings=settings, clock=clock, gateway=gateway)
    for _ in range(max_rounds):
        planned = 0
        after = 0
        while True:
            with open_session(engine, settings) as session:
                ids, recorded = plan_cases(
                    session, clock=clock, gateway=gateway.name, after_id=after, case_ids=case_ids
                )
                session.commit()
            planned += recorded
            report.cases += len(ids)
            if len(ids) < BATCH:
                break
            after = ids[-1]
        tried = 0
        while True:
            with open_session(engine, settings) as session:
                effect = effect_one(session, effectors, case_ids=case_ids)
            if effect is None:
                break
            tried += 1
            if effect.outcome is None:
                report.retried_later += 1
            else:
                report.done += 1
                report.failed += effect.outcome is Outcome.FAILED
        report.planned += planned
        if not planned and not tried:
            break
    return report
