"""``gatehouse hub clock``: the test clock, and the due work it drives.

::

    gatehouse hub clock show
    gatehouse hub clock advance 30d        # day by day: billing, emails, access refresh ...
    gatehouse hub clock run-due            # run what is due now (cron, any clock)

``advance`` needs ``GATEHOUSE_CLOCK=manual`` and is refused in production mode.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="The hub's clock and the work that falls due.", no_args_is_help=True)


def _setup():  # type: ignore[no-untyped-def]
    from hub.clock.manual import clock_for
    from hub.core.config import get_settings
    from hub.core.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    return settings, engine, clock_for(settings, engine)


@app.command("show")
def show() -> None:
    """Print the hub's time and which clock it runs on."""
    settings, engine, clock = _setup()
    typer.echo(f"{clock.now().isoformat()} ({settings.clock} clock)")
    engine.dispose()


@app.command("advance")
def advance(
    span: str = typer.Argument(..., help="how far: 30d, 12h, 2w, 15min or 12mo"),
) -> None:
    """Move the manual clock forward day by day, running what falls due at each step."""
    from hub.clock.advance import ClockRefused, advance_clock, parse_span

    settings, engine, clock = _setup()
    try:
        steps = advance_clock(engine=engine, settings=settings, clock=clock, by=parse_span(span))
    except ClockRefused as err:
        raise typer.BadParameter(str(err)) from None
    finally:
        engine.dispose()
    issued = sum(getattr(s.results.get("billing"), "invoices_issued", 0) for s in steps)
    paid = sum(getattr(s.results.get("billing"), "paid", 0) for s in steps)
    failed = sum(getattr(s.results.get("billing"), "failed", 0) for s in steps)
    typer.echo(f"now {clock.now().isoformat()} after {len(steps)} steps")
    typer.echo(f"invoices issued {issued}: {paid} paid, {failed} failed")


@app.command("run-due")
def run_due() -> None:
    """Run every due hook once at the current time (schedule it every few minutes)."""
    from hub.clock.hooks import DueContext, run_due_work

    settings, engine, clock = _setup()
    ctx = DueContext(engine=engine, settings=settings, clock=clock)
    try:
        results = run_due_work(ctx)
    finally:
        if ctx.services is not None:
            ctx.services.close()
        engine.dispose()
    for name, result in results.items():
        typer.echo(f"{name}: {result}")
