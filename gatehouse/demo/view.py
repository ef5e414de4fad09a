"""The demo's live view in the terminal: the day, taps, invoices and the story so far.

:func:`render` turns a :class:`~gatehouse.demo.runner.DemoRun` into one rich renderable;
the command redraws it with ``rich.live.Live`` whenever the run changes.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.layout import Layout
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from gatehouse.demo import story


def _taps(run: Any, rows: int) -> Table:
    table = Table(expand=True, show_edge=False, pad_edge=False)
    for col in ("hub time", "gate", "member", "decision"):
        table.add_column(col, no_wrap=True)
    hero = run.club.hero.name if run.club else ""
    for at, tap, who in run.state.taps[-rows:]:
        verdict = Text("open", "green") if tap.allow else Text(f"refused: {tap.reason}", "red")
        name = Text(who, "bold yellow") if who == hero else Text(who)
        table.add_row(f"{at:%b %d %H:%M}", tap.gate, name, verdict)
    return table


def _story(run: Any) -> Table:
    table = Table(expand=True, show_header=False, show_edge=False, pad_edge=False)
    table.add_column("", width=2)
    table.add_column("step")
    names = run.gate_names or ["gate"]
    for step in story.expected_names(names):
        for name in step:
            event = run.journal.first(name)
            mark = Text("✔", "green") if event else Text("·", "dim")
            line = Text(name, "bold" if event else "dim")
            if event is not None:
                line.append(f"  {event.at:%b %d %H:%M}", "cyan")
                if event.detail:
                    line.append(f"  {event.detail}", "dim")
            table.add_row(mark, line)
    for event in run.journal.events:
        if not any(event.name in step for step in story.expected_names(names)):
            table.add_row(Text("✔", "green"), Text(f"{event.name}  {event.detail}"))
    return table


def _billing(run: Any) -> Table:
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("")
    table.add_column("status")
    table.add_column("count", justify="right")
    styles = {"active": "green", "paid": "green", "past_due": "yellow", "open": "yellow",
              "suspended": "red", "closed": "dim"}  # fmt: skip
    state = run.state
    for what, counts in (("subscriptions", state.subscriptions), ("invoices", state.invoices),
                         ("dunning cases", state.cases)):  # fmt: skip
        label = what
        for status, count in sorted(counts.items()):
            table.add_row(label, Text(status, styles.get(status, "")), str(count))
            label = ""
    for name, line in state.gates.items():
        table.add_row("gate", Text(name, "cyan"), line)
    return table


def _mail(run: Any, rows: int) -> Table:
    table = Table(expand=True, show_edge=False, pad_edge=False)
    for col in ("hub time", "to", "subject"):
        table.add_column(col, no_wrap=True, overflow="ellipsis")
    hero = run.club.hero.email if run.club else ""
    for at, to, subject in run.state.mail[-rows:]:
        style = "bold yellow" if to == hero else ""
        table.add_row(f"{at:%b %d}", Text(to.split("@")[0], style), subject)
    return table


def render(run: Any, *, rows: int = 14) -> Layout:
    """The whole screen for *run*."""
    state = run.state
    head = Text.assemble(
        ("Gatehouse demo", "bold"), "  ",
        (f"console {run.url}/console", "underline"), "  ",
        (f"day {state.day + 1}/{state.days}", "bold cyan"), "  ",
        (f"{state.now:%a %d %b %Y %H:%M} UTC" if state.now else "starting", "cyan"),
    )  # fmt: skip
    bar = ProgressBar(total=max(state.days, 1), completed=state.day + 1)
    layout = Layout()
    layout.split_column(Layout(Group(head, bar), size=2), Layout(name="body"))
    layout["body"].split_row(Layout(name="left", ratio=3), Layout(name="right", ratio=2))
    layout["left"].split_column(
        Layout(Panel(_taps(run, rows), title="taps at the doors"), ratio=3),
        Layout(Panel(_mail(run, 6), title="emails (invoices and dunning)"), ratio=1),
    )
    layout["right"].split_column(
        Layout(Panel(_story(run), title="the story"), ratio=3),
        Layout(Panel(_billing(run), title="billing"), ratio=2),
    )
    return layout
