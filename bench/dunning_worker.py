"""The dunning worker over the hub's database: open cases planned and carried out.

Sets up one site whose members' renewals all decline (the billing run opens one case
each), then times the worker at two moments of the default policy: day 0 (one email per
case, through the folder mailer) and day 1 (one retry charge per case through the
simulated gateway's ledger). Each action is recorded in the outbox before it is carried
out and marked done after, as in production.

    .venv/bin/python bench/dunning_worker.py [--quick] [--cases N]
    GATEHOUSE_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/dunning_worker.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import billing_run  # noqa: E402
from bench._hubsetup import bench_database, machine_line  # noqa: E402
from gatehouse.clock import ManualClock  # noqa: E402
from hub.billing.run import run_billing  # noqa: E402
from hub.billing.simulated_gateway import SimulatedGateway  # noqa: E402
from hub.core.config import Settings  # noqa: E402
from hub.core.db import make_engine  # noqa: E402
from hub.dunning.mailer import FolderMailer  # noqa: E402
from hub.dunning.worker import run_dunning  # noqa: E402
from hub.migrations import upgrade  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 cases")
    parser.add_argument("--cases", type=int)
    args = parser.parse_args()
    total = args.cases or (300 if args.quick else 3000)
    print(machine_line())
    billing_run.DECLINES_EVERY = 1  # every member's card declines: one case each
    with bench_database("gh_bench_dunning") as (url, backend), tempfile.TemporaryDirectory() as tmp:
        note = "" if backend == "postgresql" else " (set GATEHOUSE_BENCH_PG for PostgreSQL)"
        print(f"database: {backend}{note}")
        print(f"sizes: cases={total} policy=default")
        upgrade(url)
        settings = Settings(database_url=url, mqtt_enabled=False, clock="manual",
                            simulated_gateway_path=str(Path(tmp) / "gateway.sqlite3"),
                            sms_outbox=str(Path(tmp) / "sms"))  # fmt: skip
        clock = ManualClock(billing_run.NOW)
        gateway = SimulatedGateway(settings.simulated_gateway_path, clock=clock)
        billing_run.populate(url, settings, gateway, total)
        engine = make_engine(url)
        report = run_billing(engine=engine, settings=settings, clock=clock, gateway=gateway)
        print(f"cases: {report.cases_opened} cases")
        mailer = FolderMailer(Path(tmp) / "outbox", sender="Bench <billing@bench.example>")
        for label, moment in (("day0", timedelta(0)), ("day1", timedelta(days=1))):
            clock.set(billing_run.NOW + moment)
            started = time.perf_counter()
            done = run_dunning(engine=engine, settings=settings, clock=clock, gateway=gateway,
                               mailer=mailer)  # fmt: skip
            elapsed = time.perf_counter() - started
            print(f"{label}_s: {elapsed:.2f} s ({done.done} actions)")
            print(f"{label}_actions_per_s: {done.done / elapsed:.0f} actions/s")
        gateway.close()
        engine.dispose()


if __name__ == "__main__":
    main()
