"""Play a policy forward for one case to see what it would do and when.

Staff (and the ``gatehouse hub dunning preview`` command) use it to read a policy as a
timeline before putting it live. Every charge is assumed to be declined with
*decline_reason*, every other action to succeed; time jumps from one
:func:`~hub.dunning.engine.next_wakeup` to the next, so a month plays in milliseconds::

    for at, action in preview(case, builtin_policy("default"), days=30):
        print(at, action.kind, action.key)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.billing.declines import DeclineReason
from hub.dunning.actions import Action, RetryCharge, SendMessage, record
from hub.dunning.case import DunningCase, HistoryEntry
from hub.dunning.engine import advance, next_wakeup
from hub.dunning.kinds import Outcome
from hub.dunning.policy import Policy


def preview(
    case: DunningCase,
    policy: Policy,
    *,
    days: int = 30,
    decline_reason: DeclineReason = DeclineReason.INSUFFICIENT_FUNDS,
) -> list[tuple[datetime, Action]]:
    """The actions *policy* takes for *case* over *days* days if nobody ever pays."""
    end = case.failed_at + timedelta(days=days)
    history: list[HistoryEntry] = []
    timeline: list[tuple[datetime, Action]] = []
    now: datetime | None = case.failed_at
    while now is not None and now <= end:
        while actions := advance(case, now, policy, history):
            for action in actions:
                timeline.append((now, action))
                if isinstance(action, RetryCharge):
                    entry = record(action, Outcome.DECLINED, at=now, decline_reason=decline_reason)
                else:
                    sent = isinstance(action, SendMessage)
                    entry = record(action, Outcome.SENT if sent else Outcome.SUCCEEDED, at=now)
                history.append(entry)
        now = next_wakeup(case, now, policy, history)
    return timeline
