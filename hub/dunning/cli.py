"""``gatehouse hub dunning``: run the worker, check policy files, preview and edit policies.

::

    gatehouse hub dunning run                     # plan and carry out what is due now
    gatehouse hub dunning check club/policies/strict.yaml club/segments.yaml
    gatehouse hub dunning preview default --failed-at 2026-12-01T02:00 --timezone Asia/Bangkok
    gatehouse hub dunning policy show default     # the stored policy (YAML)
    gatehouse hub dunning policy save club/policies/default.yaml   # a new version
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from hub.dunning.actions import CancelSubscription, Escalate, RetryCharge, SendMessage
from hub.dunning.case import DunningCase, PaymentMethod
from hub.dunning.policy import (
    BUILTIN_POLICY_DIR,
    Policy,
    PolicyError,
    load_policy_file,
    parse_yaml,
)
from hub.dunning.preview import preview
from hub.dunning.segments import load_segmentation_file

app = typer.Typer(
    help="Run dunning, check and edit its policies, preview their schedules.",
    no_args_is_help=True,
)
policy_app = typer.Typer(help="The policies stored in the hub's database.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


def _hub():  # type: ignore[no-untyped-def]
    from hub.clock.manual import clock_for
    from hub.core.config import get_settings
    from hub.core.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    return settings, engine, clock_for(settings, engine)


@app.command("run")
def run_command() -> None:
    """Plan and carry out every dunning action due now (also run by the clock's due hooks)."""
    from hub.billing.services import BillingServices
    from hub.dunning.worker import run_dunning

    settings, engine, clock = _hub()
    services = BillingServices.from_settings(settings, clock=clock)
    try:
        report = run_dunning(engine=engine, settings=settings, clock=clock,
                             gateway=services.gateway, mailer=services.mailer)  # fmt: skip
    finally:
        services.close()
        engine.dispose()
    typer.echo(f"cases looked at {report.cases}; actions planned {report.planned}, "
               f"carried out {report.done}, to try again {report.retried_later}, "
               f"failed {report.failed}")  # fmt: skip


@policy_app.command("show")
def policy_show(name: str = typer.Argument("default", help="Policy name")) -> None:
    """Print the newest stored version of policy NAME (the shipped file on first use)."""
    from hub.billing.run import open_session
    from hub.dunning.store import policy_row

    settings, engine, clock = _hub()
    try:
        with open_session(engine, settings) as session:
            try:
                row = policy_row(session, name, clock=clock)
            except LookupError as err:
                raise typer.BadParameter(str(err)) from None
            session.commit()
    finally:
        engine.dispose()
    typer.echo(f"# {row.name} v{row.version}, stored by {row.created_by}")
    typer.echo(row.text.rstrip())


@policy_app.command("save")
def policy_save(
    path: Path = typer.Argument(..., help="A policy YAML file"),  # noqa: B008
    actor: str = typer.Option("cli", help="Who made the change (kept with the version)"),
) -> None:
    """Validate PATH and store it as the next version of the policy it names.

    Open cases keep the version they started with; new cases get this one.
    """
    from hub.billing.run import open_session
    from hub.dunning.store import save_policy

    settings, engine, clock = _hub()
    try:
        with open_session(engine, settings) as session:
            try:
                policy = save_policy(session, path.read_text("utf-8"), actor=actor, clock=clock)
            except PolicyError as err:
                typer.echo(str(err), err=True)
                raise typer.Exit(1) from None
            session.commit()
    finally:
        engine.dispose()
    typer.echo(f"saved {policy.name} v{policy.version} ({len(policy.steps)} steps)")


def _load_policy(name_or_path: str) -> Policy:
    path = Path(name_or_path)
    if not path.suffix:
        path = BUILTIN_POLICY_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise typer.BadParameter(f"no policy file or built-in policy {name_or_path!r}")
    return load_policy_file(path)


@app.command("check")
def check_command(
    files: list[Path] = typer.Argument(..., help="Policy or segmentation YAML files"),  # noqa: B008
) -> None:
    """Validate policy and segmentation files; list every problem with its place."""
    failed = False
    for path in files:
        try:
            if "rules" in parse_yaml(path.read_text("utf-8"), path.name):
                rules = load_segmentation_file(path)
                typer.echo(f"ok  {path}: segmentation, {len(rules.rules)} rules")
            else:
                policy = load_policy_file(path)
                typer.echo(f"ok  {path}: policy {policy.name} v{policy.version}, "
                           f"{len(policy.steps)} steps")  # fmt: skip
        except PolicyError as err:
            failed = True
            typer.echo(str(err), err=True)
        except OSError as err:
            failed = True
            typer.echo(f"{path}: {err.strerror}", err=True)
    if failed:
        raise typer.Exit(1)


def _detail(action: object) -> str:
    if isinstance(action, RetryCharge):
        return f"charge {action.method_id} (attempt {action.attempt})"
    if isinstance(action, SendMessage):
        legal = ", legal notice" if action.legal_notice else ""
        return f"{action.channel} {action.template} ({action.tone}{legal})"
    if isinstance(action, Escalate):
        return f"{action.task} task: {action.note}"
    if isinstance(action, CancelSubscription):
        return "cancel" + (", mark uncollectible" if action.mark_uncollectible else "")
    return "suspend access"


@app.command("preview")
def preview_command(
    policy: str = typer.Argument("default", help="Built-in policy name or a YAML file"),
    failed_at: datetime = typer.Option(  # noqa: B008
        datetime(2026, 12, 1, 2, 0), help="When the charge failed (member's local time)"
    ),
    timezone: str = typer.Option("Asia/Bangkok", help="The member's timezone"),
    methods: int = typer.Option(2, min=1, max=5, help="Saved payment methods"),
    days: int = typer.Option(30, min=1, max=365, help="How many days to play"),
) -> None:
    """Print what POLICY does, hour by hour, for a member who never pays."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown timezone {timezone!r}") from None
    try:
        chosen = _load_policy(policy)
    except PolicyError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    start = failed_at.replace(tzinfo=zone) if failed_at.tzinfo is None else failed_at
    case = DunningCase(
        case_id="preview",
        member_id="member",
        invoice_id="invoice",
        amount_minor=100_000,
        currency="THB",
        failed_at=start,
        timezone=timezone,
        payment_methods=tuple(
            PaymentMethod(f"pm_{n + 1}", is_default=(n == 0)) for n in range(methods)
        ),
    )
    typer.echo(f"policy {chosen.name} v{chosen.version}; times in {timezone}")
    for at, action in preview(case, chosen, days=days):
        day = (at - case.failed_at).days
        typer.echo(f"day {day:>3}  {at.astimezone(zone):%a %d %b %H:%M}  {_detail(action)}")
