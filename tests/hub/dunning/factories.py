"""Small builders for dunning tests: cases, a scripted bank and a day-by-day driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from gatehouse.clock import ManualClock
from hub.billing.declines import DeclineReason
from hub.dunning.actions import Action, RetryCharge, SendMessage, record
from hub.dunning.case import DunningCase, HistoryEntry, PaymentMethod
from hub.dunning.engine import advance
from hub.dunning.kinds import CaseStatus, Outcome
from hub.dunning.policy import Policy

VISA = PaymentMethod("pm_visa", "Visa •••• 4242", is_default=True)
MASTERCARD = PaymentMethod("pm_mc", "Mastercard •••• 4444")
BANK = PaymentMethod("pm_bank", "Bank account •••• 6789")

#: 02:00 in Bangkok on 1 December 2026: inside quiet hours.
FAILED_AT = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)


def make_case(**overrides: object) -> DunningCase:
    """A Bangkok member whose default Visa was declined for insufficient funds."""
    values: dict[str, object] = {
        "case_id": "c-1",
        "member_id": "m-1",
        "invoice_id": "inv-1",
        "amount_minor": 150000,
        "currency": "THB",
        "failed_at": FAILED_AT,
        "timezone": "Asia/Bangkok",
        "language": "th",
        "payment_methods": (VISA, MASTERCARD),
        "last_decline": DeclineReason.INSUFFICIENT_FUNDS,
        "declined_method_id": "pm_visa",
    }
    values.update(overrides)
    return DunningCase(**values)  # type: ignore[arg-type]


#: A bank stand-in: (action, now) -> (outcome, decline reason).
Bank = Callable[[RetryCharge, datetime], tuple[Outcome, DeclineReason | None]]


def always_declines(reason: DeclineReason = DeclineReason.INSUFFICIENT_FUNDS) -> Bank:
    return lambda action, now: (Outcome.DECLINED, reason)


@dataclass
class Driver:
    """Runs a case on a manual clock the way a worker would, one tick at a time.

    Every action returned is carried out at once: charges ask the scripted bank, other
    actions succeed. A successful charge closes the case, as billing would.
    """

    case: DunningCase
    policy: Policy
    bank: Bank
    clock: ManualClock = field(init=False)
    history: list[HistoryEntry] = field(default_factory=list)
    done: list[tuple[datetime, Action]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.clock = ManualClock(self.case.failed_at)

    def tick(self) -> list[Action]:
        now = self.clock.now()
        taken: list[Action] = []
        while True:  # a worker re-runs advance after each result, at the same moment
            actions = advance(self.case, now, self.policy, self.history)
            if not actions:
                return taken
            for action in actions:
                taken.append(action)
                self.done.append((now, action))
                if isinstance(action, RetryCharge):
                    outcome, reason = self.bank(action, now)
                    self.history.append(record(action, outcome, at=now, decline_reason=reason))
                    if outcome == Outcome.SUCCEEDED:
                        self.case = replace(self.case, status=CaseStatus.CLOSED)
                else:
                    outcome = Outcome.SENT if isinstance(action, SendMessage) else Outcome.SUCCEEDED
                    self.history.append(record(action, outcome, at=now))

    def run(self, days: int, step: timedelta = timedelta(hours=1)) -> None:
        end = self.case.failed_at + timedelta(days=days)
        while self.clock.now() <= end:
            self.tick()
            self.clock.advance(step)

    def of_type(self, cls: type) -> list[tuple[datetime, Action]]:
        return [(at, a) for at, a in self.done if isinstance(a, cls)]
