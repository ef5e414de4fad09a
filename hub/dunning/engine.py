"""The dunning step function: what is due for a case now, given what was already done.

:func:`advance` is pure: the same case, time, policy and history always give the same
actions with the same idempotency keys, so it is safe to call as often as you like, from
as many workers as you like; an outbox keyed on :attr:`Action.key` turns "returned twice"
into "done once"::

    actions = advance(case, clock.now(), policy, history)
    for action in actions:          # in policy order
        outcome = carry_out(action)  # an effector: gateway, mailer, access lists, tasks
        history.append(record(action, outcome, at=clock.now()))

Rules it keeps:

* A closed case, a paid invoice (a retry that succeeded) or a cancelled subscription
  yields nothing.
* Nothing repeats: an action whose key is in the history is never returned again.
* Retries skip methods the history or the opening decline marks as hard declines
  (:data:`~hub.billing.declines.NEVER_RETRY`) or needing the member
  (:data:`~hub.billing.declines.TRY_OTHER_METHOD`, ``authentication_required``) and move to
  the member's other saved methods. A bank asking for authentication gets the member the
  pay link (``on_authentication_required``) instead of blind retries.
* A retry is a barrier: later steps wait for its result, so a successful retry means no
  further messages. An older retry that was never started is skipped once a newer retry
  step is due (a worker that was down does not fire a volley of charges).
* Messages never go out in quiet hours (they wait for the end, in the member's
  timezone), respect the frequency cap and a marketing opt-out, except legally required
  notices, which only quiet hours delay. An older, never-sent message is replaced by a
  newer one on the same channel once that one is due.
* Suspension, tasks and cancellation happen on their policy day, never before.

:func:`next_wakeup` tells a worker when calling again could yield something new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.billing.declines import NEEDS_MEMBER, TRY_OTHER_METHOD
from hub.dunning.actions import (
    AUTH_STEP,
    KEY_PREFIX,
    Action,
    CancelSubscription,
    Escalate,
    RetryCharge,
    SendMessage,
    SuspendAccess,
    action_key,
)
from hub.dunning.case import DunningCase, HistoryEntry, check_aware
from hub.dunning.kinds import ActionKind, CaseStatus, Channel, Outcome, RetryMethods, Tone
from hub.dunning.policy import (
    CancelStep,
    EscalateStep,
    MessageStep,
    Policy,
    RetryStep,
    SuspendStep,
)
from hub.dunning.timing import cap_allows, cap_frees_at, end_of_quiet_hours, in_quiet_hours

#: Message outcomes that count toward the frequency cap.
_COUNTED = frozenset({Outcome.PENDING, Outcome.SENT, Outcome.SUCCEEDED})


def excluded_methods(case: DunningCase, history: Sequence[HistoryEntry]) -> frozenset[str]:
    """Saved methods no retry may charge: a hard decline, an expired card, or a bank that
    wants the member to authenticate, seen on the opening charge or on any retry."""
    blocked = TRY_OTHER_METHOD | NEEDS_MEMBER
    excluded = set()
    if case.last_decline in blocked:
        first = case.declined_method_id or (case.default_method and case.default_method.method_id)
        if first:
            excluded.add(first)
    prefix = f"{KEY_PREFIX}:{case.case_id}:"
    for entry in history:
        if (
            entry.key.startswith(prefix)
            and entry.kind == ActionKind.RETRY_CHARGE
            and entry.method_id
            and entry.decline_reason in blocked
        ):
            excluded.add(entry.method_id)
    return frozenset(excluded)


def _needs_member_since(case: DunningCase, own: Sequence[HistoryEntry]) -> datetime | None:
    """When a bank first asked for the member's authentication in this case, if ever."""
    if case.last_decline in NEEDS_MEMBER:
        return case.failed_at
    times = [
        e.at for e in own if e.kind == ActionKind.RETRY_CHARGE and e.decline_reason in NEEDS_MEMBER
    ]
    return min(times) if times else None


@dataclass
class _Planner:
    """One pass over the policy for one case at one moment."""

    case: DunningCase
    now: datetime
    policy: Policy
    history: Sequence[HistoryEntry]
    actions: list[Action] = field(default_factory=list)
    wakeups: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        prefix = f"{KEY_PREFIX}:{self.case.case_id}:"
        self.own = [e for e in self.history if e.key.startswith(prefix)]
        self.entries = {e.key: e for e in self.own}
        self.message_times = [
            e.at
            for e in self.history
            if e.kind == ActionKind.SEND_MESSAGE and e.outcome in _COUNTED
        ]
        self.excluded = excluded_methods(self.case, self.own)
        self.attempts = sum(
            e.kind == ActionKind.RETRY_CHARGE and e.outcome != Outcome.SKIPPED for e in self.own
        )
        self.zone = self.case.zone

    # -- the pass ---------------------------------------------------------------------

    def finished(self) -> bool:
        """A closed case, a paid invoice or a cancelled subscription: nothing more to do."""
        if self.case.status == CaseStatus.CLOSED:
            return True
        for entry in self.own:
            if entry.kind == ActionKind.RETRY_CHARGE and entry.outcome == Outcome.SUCCEEDED:
                return True
            if entry.kind == ActionKind.CANCEL_SUBSCRIPTION and entry.outcome in _COUNTED:
                return True
        return False

    def run(self) -> _Planner:
        if self.finished():
            return self
        self.auth_message()
        steps = self.policy.steps
        due = [self.policy.due_at(i, self.case.failed_at) for i in range(len(steps))]
        for index, step in enumerate(steps):
            if due[index] > self.now:
                self.wakeups.append(due[index])
                break  # steps are in day order: none after this one is due either
            if isinstance(step, RetryStep):
                if self.superseded(index, due, RetryStep) and not self.started(index):
                    continue
                if not self.retry(index, step, due[index]):
                    break  # barrier: later steps wait for this charge's result
            elif isinstance(step, MessageStep):
                if self.message_superseded(index, step, due) and not self.started(index):
                    continue
                self.message(
                    str(index),
                    due[index],
                    step.channel,
                    step.template,
                    step.tone,
                    step.legal_notice,
                )
            elif isinstance(step, SuspendStep):
                self.once(index, due[index], SuspendAccess)
            elif isinstance(step, EscalateStep):
                self.once(
                    index,
                    due[index],
                    Escalate,
                    task=step.task,
                    note=step.note,
                    amount_minor=self.case.amount_minor,
                    currency=self.case.currency,
                )
            elif isinstance(step, CancelStep):
                self.once(
                    index,
                    due[index],
                    CancelSubscription,
                    mark_uncollectible=step.mark_uncollectible,
                )
                break  # nothing follows a cancellation
        return self

    # -- helpers ----------------------------------------------------------------------

    def started(self, index: int) -> bool:
        prefix = f"{KEY_PREFIX}:{self.case.case_id}:{index}:"
        return any(key.startswith(prefix) for key in self.entries)

    def superseded(self, index: int, due: list[datetime], kind: type) -> bool:
        later = range(index + 1, len(self.policy.steps))
        return any(isinstance(self.policy.steps[j], kind) and due[j] <= self.now for j in later)

    def message_superseded(self, index: int, step: MessageStep, due: list[datetime]) -> bool:
        if step.legal_notice:
            return False
        for j in range(index + 1, len(self.policy.steps)):
            other = self.policy.steps[j]
            if (
                isinstance(other, MessageStep)
                and other.channel == step.channel
                and due[j] <= self.now
            ):
                return True
        return False

    def common(self, step: str, kind: ActionKind, due_at: datetime, method_id: str | None = None):
        return {
            "key": action_key(self.case.case_id, step, kind, method_id),
            "case_id": self.case.case_id,
            "member_id": self.case.member_id,
            "invoice_id": self.case.invoice_id,
            "step": step,
            "due_at": due_at,
        }

    def once(self, index: int, due_at: datetime, cls: type, **extra: object) -> None:
        fields = self.common(str(index), cls.kind, due_at)
        if fields["key"] not in self.entries:
            self.actions.append(cls(**fields, **extra))

    def retry(self, index: int, step: RetryStep, due_at: datetime) -> bool:
        """Handle one retry step; False when later steps must wait (a charge in flight)."""
        methods = self.case.methods_in_retry_order()
        if step.methods == RetryMethods.DEFAULT:
            methods = methods[:1]
        for method in methods:
            fields = self.common(str(index), ActionKind.RETRY_CHARGE, due_at, method.method_id)
            entry = self.entries.get(fields["key"])
            if entry is not None:
                if entry.outcome == Outcome.PENDING:
                    return False
                continue  # declined or failed: on to the next method
            if method.method_id in self.excluded:
                continue
            self.attempts += 1
            self.actions.append(
                RetryCharge(
                    **fields,
                    method_id=method.method_id,
                    amount_minor=self.case.amount_minor,
                    currency=self.case.currency,
                    attempt=self.attempts,
                )
            )
            return False
        return True

    def auth_message(self) -> None:
        spec = self.policy.on_authentication_required
        since = _needs_member_since(self.case, self.own)
        if spec is None or since is None:
            return
        self.message(AUTH_STEP, since, spec.channel, spec.template, spec.tone, spec.legal_notice)

    def deadline(self, after: datetime) -> datetime | None:
        """When the next suspension or cancellation not yet carried out takes effect."""
        emitted = {a.key for a in self.actions}
        for index, step in enumerate(self.policy.steps):
            if isinstance(step, SuspendStep | CancelStep):
                key = action_key(self.case.case_id, str(index), ActionKind(step.kind))
                when = self.policy.due_at(index, self.case.failed_at)
                if key not in self.entries and key not in emitted and when >= after:
                    return when
        return None

    def message(
        self,
        step: str,
        due_at: datetime,
        channel: Channel,
        template: str,
        tone: Tone,
        legal_notice: bool,
    ) -> None:
        fields = self.common(step, ActionKind.SEND_MESSAGE, due_at)
        if fields["key"] in self.entries:
            return
        if channel not in self.case.contact_channels:
            return
        if self.case.marketing_opt_out and not legal_notice:
            return
        quiet = self.policy.quiet_hours
        eligible = end_of_quiet_hours(due_at, self.zone, quiet)
        if self.now < eligible:
            self.wakeups.append(eligible)
            return
        if in_quiet_hours(self.now, self.zone, quiet):
            self.wakeups.append(end_of_quiet_hours(self.now, self.zone, quiet))
            return
        cap = self.policy.frequency_cap
        if not legal_notice and not cap_allows(self.message_times, self.now, cap):
            self.wakeups.append(cap_frees_at(self.message_times, self.now, cap))
            return
        fields["due_at"] = eligible
        self.message_times.append(self.now)
        self.actions.append(
            SendMessage(
                **fields,
                channel=channel,
                template=template,
                tone=tone,
                language=self.case.language,
                legal_notice=legal_notice,
                amount_minor=self.case.amount_minor,
                currency=self.case.currency,
                deadline=self.deadline(self.now),
                timezone=self.case.timezone,
            )
        )


def advance(
    case: DunningCase, now: datetime, policy: Policy, history: Sequence[HistoryEntry]
) -> list[Action]:
    """The actions due for *case* at *now*, in policy order, none of them already in
    *history*.

    :param case: the case (a closed one yields ``[]``).
    :param now: the current time, aware (from the injected clock).
    :param policy: the policy the case runs under.
    :param history: entries for actions already carried out (or in flight, ``pending``).
        Message entries of the member's other cases may be included: they count toward
        the frequency cap.
    :returns: actions, each with a stable idempotency key.
    """
    check_aware("now", now)
    return _Planner(case, now, policy, history).run().actions


def next_wakeup(
    case: DunningCase, now: datetime, policy: Policy, history: Sequence[HistoryEntry]
) -> datetime | None:
    """The earliest moment after *now* when :func:`advance` could return something new
    without any new history; ``None`` when only a result (or nothing) can move the case.

    A worker stores it as the case's next run time; calling :func:`advance` earlier or
    more often is always safe.
    """
    check_aware("now", now)
    planner = _Planner(case, now, policy, history).run()
    later = [t for t in planner.wakeups if t > now]
    return min(later) if later else None
