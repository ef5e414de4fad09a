"""The ``gatehouse demo`` command: live view, or ``--check`` headless."""

from __future__ import annotations

import errno
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console
from rich.live import Live

DIR_OPTION = typer.Option(
    None, "--dir", help="Folder for the database and gate stores (default: a temp folder)"
)


def demo_command(
    directory: Path | None = DIR_OPTION,
    port: int = typer.Option(8000, "--port", help="The hub's HTTP port"),
    speed: float = typer.Option(2.0, "--speed", help="Real seconds per simulated day"),
    days: int = typer.Option(30, "--days", help="Simulated days to play"),
    check: bool = typer.Option(
        False, "--check", help="Play the month headless; exit 1 naming missing events"
    ),
    firmware: bool | None = typer.Option(
        None, "--firmware/--no-firmware", help="Second gate on MicroPython (default: if found)"
    ),
) -> None:
    """Run a whole club: hub, broker, two gates, members, a month of billing and dunning."""
    from gatehouse.demo.runner import DemoOptions, DemoRun

    console = Console()
    with tempfile.TemporaryDirectory(prefix="gatehouse-demo-") as tmp:
        workdir = directory or Path(tmp)
        options = DemoOptions(workdir=workdir, port=port, days=days, firmware=firmware,
                              speed=0.0 if check else speed)  # fmt: skip
        run = DemoRun(options)
        previous = signal.getsignal(signal.SIGTERM)

        def on_term(_signum: int, _frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_term)
        try:
            problems = _check(run, console) if check else _live(run, console)
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise
            console.print(f"[red]port {port} is in use[/]: pass --port with a free one")
            problems = [f"port {port} is in use"]
        except KeyboardInterrupt:
            console.print("[yellow]stopping: gates, hub and broker[/]")
            problems = None
        finally:
            run.stop()
            signal.signal(signal.SIGTERM, previous)
    if problems is None:
        raise typer.Exit(130)
    if problems:
        console.print("[red]the story did not hold:[/]")
        for line in problems:
            console.print(f"  - {line}")
        raise typer.Exit(1)
    console.print("[green]every expected event happened[/]")


def _check(run: Any, console: Console) -> list[str]:
    run.start()
    console.print(f"hub ready on {run.url}; playing {run.options.days} days headless")
    run.play()
    for event in run.journal.events:
        console.print(f"  {event.at:%Y-%m-%d %H:%M}  {event.name}  {event.detail}")
    return run.missing()


def _live(run: Any, console: Console) -> list[str]:
    from gatehouse.demo.view import render

    console.print("starting the broker, the hub and two gates ...")
    run.start()
    assert run.club is not None
    console.print(f"[green]hub ready[/] on {run.url}/console")
    console.print(f"manager login: [bold]{run.club.manager_email}[/] / "
                  f"[bold]{run.club.manager_password}[/]")  # fmt: skip
    failure: list[BaseException] = []

    def play() -> None:
        try:
            run.play()
        except BaseException as err:  # shown below, then the demo stops
            if not run.stopping.is_set():
                failure.append(err)

    worker = threading.Thread(target=play, name="demo-story", daemon=True)
    rows = max(6, console.height - 22)  # as many taps as the terminal shows
    with Live(render(run, rows=rows), console=console, refresh_per_second=4, screen=False) as live:
        run.on_change = lambda: live.update(render(run, rows=rows))
        worker.start()
        while worker.is_alive():
            worker.join(0.25)
        run.on_change = lambda: None
        live.update(render(run, rows=rows))
    if failure:
        console.print(f"[red]the story stopped:[/] {failure[0]!r}")
        return [f"the story stopped: {failure[0]!r}"]
    missing = run.missing()
    for line in missing:
        console.print(f"[yellow]not shown:[/] {line}")
    console.print(f"the console stays up at {run.url}/console: Ctrl-C to stop")
    threading.Event().wait()  # until Ctrl-C
    return missing
