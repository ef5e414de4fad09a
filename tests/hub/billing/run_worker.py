"""A billing-run process for the crash and concurrency tests.

Started once (``python -m tests.hub.billing.run_worker``), it imports everything, then
forks a fresh child for every ``run <iso time> <batch size>`` line on stdin, so each run
is a real process that can be killed with SIGKILL without paying Python's start-up each
time. It answers ``pid <n>`` when a child starts; the child prints ``done <issued>
<charged>`` when its run finishes; then ``exit <code>`` (``exit -9``: killed). The child
runs the real billing run against the database in ``GATEHOUSE_DATABASE_URL`` and the
simulated gateway's ledger in ``GATEHOUSE_SIMULATED_GATEWAY_PATH``, at the given time.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime

from gatehouse.clock import ManualClock
from hub.billing.run import run_billing
from hub.billing.simulated_gateway import SimulatedGateway
from hub.core.config import Settings
from hub.core.db import make_engine


def child(at: datetime, batch: int) -> None:
    settings = Settings.from_env()
    clock = ManualClock(at)
    engine = make_engine(settings.database_url)
    gateway = SimulatedGateway(os.environ["GATEHOUSE_SIMULATED_GATEWAY_PATH"], clock=clock)
    report = run_billing(
        engine=engine, settings=settings, clock=clock, gateway=gateway, batch_size=batch
    )
    # One write with its newline: a SIGKILL between print's text and its end would leave
    # the parent's next line glued to this one.
    sys.stdout.write(f"done {report.invoices_issued} {report.charges_sent}\n")
    sys.stdout.flush()


def main() -> None:
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] != "run":
            print(f"error unknown command {parts[0]}", flush=True)
            continue
        at, batch = datetime.fromisoformat(parts[1]), int(parts[2])
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                child(at, batch)
            except BaseException as err:  # report, then leave without cleanup
                print(f"child error {err!r}", file=sys.stderr, flush=True)
                code = 1
            os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            print(f"exit {-os.WTERMSIG(status)}", flush=True)
        else:
            print(f"exit {os.WEXITSTATUS(status)}", flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    main()
