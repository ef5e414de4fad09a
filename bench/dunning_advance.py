"""How fast the dunning step function decides, over cases at every stage.

Builds cases whose histories stop at random points of the default policy (as a worker
finds them), then times ``advance`` on each. Prints ``advance_per_s`` and the latency
percentiles ``advance_p50``/``advance_p99`` in milliseconds.

    .venv/bin/python bench/dunning_advance.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from datetime import UTC, datetime, timedelta

from hub.billing.declines import DeclineReason
from hub.dunning.actions import RetryCharge, SendMessage, record
from hub.dunning.case import DunningCase, HistoryEntry, PaymentMethod
from hub.dunning.engine import advance
from hub.dunning.kinds import Outcome
from hub.dunning.policy import builtin_policy


def build_cases(
    count: int, seed: int = 7
) -> list[tuple[DunningCase, datetime, list[HistoryEntry]]]:
    policy = builtin_policy("default")
    rng = random.Random(seed)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    built = []
    for n in range(count):
        failed_at = start + timedelta(minutes=rng.randrange(60 * 24 * 30))
        case = DunningCase(
            case_id=f"c-{n}",
            member_id=f"m-{n}",
            invoice_id=f"inv-{n}",
            amount_minor=rng.randrange(50_000, 500_000),
            currency="THB",
            failed_at=failed_at,
            timezone=rng.choice(["Asia/Bangkok", "Asia/Singapore", "Europe/London"]),
            payment_methods=(PaymentMethod("pm_a", is_default=True), PaymentMethod("pm_b")),
            last_decline=DeclineReason.INSUFFICIENT_FUNDS,
        )
        history: list[HistoryEntry] = []
        now = failed_at
        until = failed_at + timedelta(hours=rng.randrange(24 * 25))
        while now < until:  # play the case up to a random point
            for action in advance(case, now, policy, history):
                ok = Outcome.DECLINED if isinstance(action, RetryCharge) else Outcome.SENT
                if not isinstance(action, RetryCharge | SendMessage):
                    ok = Outcome.SUCCEEDED
                history.append(record(action, ok, at=now))
            now += timedelta(hours=6)
        built.append((case, now, history))
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 cases instead of 20,000")
    args = parser.parse_args()
    count = 1_000 if args.quick else 20_000
    policy = builtin_policy("default")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"sizes: {count} cases, default policy ({len(policy.steps)} steps)")
    cases = build_cases(count)
    print(f"history_entries_mean: {sum(len(h) for _, _, h in cases) / count:.1f} entries")
    latencies = []
    started = time.perf_counter()
    for case, now, history in cases:
        t0 = time.perf_counter()
        advance(case, now, policy, history)
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    latencies.sort()
    print(f"advance_per_s: {count / total:.0f} calls/s")
    print(f"advance_p50: {latencies[len(latencies) // 2] * 1000:.3f} ms")
    print(f"advance_p99: {latencies[int(len(latencies) * 0.99)] * 1000:.3f} ms")


if __name__ == "__main__":
    main()
