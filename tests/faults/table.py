"""The fault table: one row per fault played, printed at the end of the test run.

Each fault test adds a :class:`FaultRow`; the ``pytest_terminal_summary`` hook in this
folder's ``conftest.py`` prints them all as one table::

    add_row(FaultRow("kill -9 hub", "3 kills", audit, double_charges=None, recovery_s=4.2))
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.faults.world import Audit


@dataclass
class FaultRow:
    """What one fault did: check-ins lost or duplicated, money and doors gone wrong."""

    fault: str
    detail: str
    audit: Audit
    double_charges: int | None = None
    recovery_s: float | None = None

    @property
    def clean(self) -> bool:
        """True when nothing was lost, duplicated, double-charged or wrongly unlocked."""
        a = self.audit
        return (
            a.lost == 0
            and a.duplicated == 0
            and a.wrong_unlocks == 0
            and not self.double_charges
            and self.recovery_s is not None
        )


ROWS: list[FaultRow] = []

HEADER = ("fault", "detail", "check-ins", "lost", "dup", "double charges",
          "wrong unlocks", "wrong denials", "recovery s")  # fmt: skip


def add_row(row: FaultRow) -> FaultRow:
    """Record *row* for the summary; returns it."""
    ROWS.append(row)
    return row


def render(rows: list[FaultRow]) -> list[str]:
    """The rows as a Markdown table (lines)."""
    body = []
    for r in rows:
        a = r.audit
        body.append((
            r.fault, r.detail, str(a.checkins), str(a.lost), str(a.duplicated),
            "-" if r.double_charges is None else str(r.double_charges),
            str(a.wrong_unlocks), str(a.wrong_denials),
            "never" if r.recovery_s is None else f"{r.recovery_s:.1f}",
        ))  # fmt: skip
    widths = [max(len(c[i]) for c in [HEADER, *body]) for i in range(len(HEADER))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(c) for c in body
    ]
