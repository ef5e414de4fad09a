"""``gatehouse hub``: run and administer the hub.

::

    gatehouse hub migrate                       # create or upgrade the database
    gatehouse hub create-user --email a@b.co --name "Ana" --role owner
    gatehouse hub gate add --site club1 --door "Front door" --kind pi
    gatehouse hub broker-config --out /etc/mosquitto/gatehouse
    gatehouse hub broker-config --out DIR --tls --cert broker.crt --key broker.key
    gatehouse hub broker-config --out DIR --hub-replicas 2   # users hub-1, hub-2
    gatehouse hub gate rotate-key --site club1 --gate front-door
    gatehouse hub serve --port 8000             # API + MQTT service

Settings come from ``GATEHOUSE_*`` variables (see :mod:`hub.core.config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, or_, select

from gatehouse.clock import SystemClock
from hub.billing.cli import app as billing_app
from hub.clock.cli import app as clock_app
from hub.core.config import get_settings
from hub.core.db import make_engine
from hub.dunning.cli import app as dunning_app
from hub.models import Door, Gate, GateKind, Role, Site
from hub.models.user import UserCreate

app = typer.Typer(help="Run and administer the hub.", no_args_is_help=True)
gate_app = typer.Typer(help="Provision gates.", no_args_is_help=True)
app.add_typer(gate_app, name="gate")
app.add_typer(dunning_app, name="dunning")
app.add_typer(billing_app, name="billing")
app.add_typer(clock_app, name="clock")


def _session() -> Session:
    settings = get_settings()
    session = Session(make_engine(settings.database_url), expire_on_commit=False)
    session.info["settings"] = settings
    return session


@app.command()
def migrate(revision: str = typer.Option("head", help="Alembic revision to upgrade to")) -> None:
    """Create the database or upgrade it to the latest schema."""
    from hub.migrations import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@app.command("create-user")
def create_user_command(
    email: str = typer.Option(..., help="login email"),
    name: str = typer.Option(..., help="full name"),
    role: Annotated[
        Role, typer.Option(help="owner, manager, front_desk or installer")
    ] = Role.OWNER,
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="10+ characters"
    ),
) -> None:
    """Add a console user (password stored as an argon2 hash)."""
    from pydantic import ValidationError

    from hub.services.users import UserExists, create_user

    try:
        data = UserCreate(email=email, full_name=name, role=role, password=password)
    except ValidationError as err:
        msg = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in err.errors())
        raise typer.BadParameter(msg) from None
    with _session() as s:
        try:
            user = create_user(s, data=data, clock=SystemClock())
        except UserExists as err:
            raise typer.BadParameter(str(err)) from None
        s.commit()
        typer.echo(f"user {user.id} {user.email} ({user.role})")


@gate_app.command("add")
def gate_add(
    site: str = typer.Option(..., "--site", help="site slug"),
    door: str = typer.Option(..., "--door", help="door name or id"),
    kind: Annotated[GateKind, typer.Option("--kind", help="pi or micropython")] = GateKind.PI,
    gate: str | None = typer.Option(None, "--gate", help="gate id (default: from the door)"),
) -> None:
    """Create a gate with its credentials and print its one-time claim token."""
    from hub.services.gates import provision_gate, slug_from

    settings = get_settings()
    with _session() as s:
        site_row = s.exec(select(Site).where(Site.slug == site)).first()
        if site_row is None:
            raise typer.BadParameter(f"no site {site!r}")
        cond = Door.name == door
        if door.isascii() and door.isdigit():
            cond = or_(cond, Door.id == int(door))
        door_row = s.exec(select(Door).where(Door.site_id == site_row.id, cond)).first()
        if door_row is None:
            raise typer.BadParameter(f"no door {door!r} at {site}")
        slug = gate or slug_from(door_row.name)
        if s.exec(select(Gate).where(Gate.site_id == site_row.id, Gate.slug == slug)).first():
            raise typer.BadParameter(f"gate {slug!r} exists at {site}; pass --gate")
        row, claim, token = provision_gate(
            s,
            site=site_row,
            door=door_row,
            slug=slug,
            kind=kind.value,
            clock=SystemClock(),
            settings=settings,
        )
        s.commit()
    typer.echo(f"gate {row.id}: {site}/{slug} ({kind.value}) at {door_row.name}")
    typer.echo(f"mqtt user: {row.mqtt_username}")
    typer.echo(f"claim token (once, until {claim.expires_at:%Y-%m-%d %H:%M} UTC): {token}")
    typer.echo("re-run `gatehouse hub broker-config` so the broker knows the new gate")


@gate_app.command("rotate-key")
def gate_rotate_key(
    site: str = typer.Option(..., "--site", help="site slug"),
    gate: str = typer.Option(..., "--gate", help="gate id"),
    overlap: int = typer.Option(3600, help="seconds both keys are accepted"),
    send: bool = typer.Option(True, help="send the rekey command to the broker now"),
) -> None:
    """Give a gate a new HMAC key, sent sealed under its old one; no downtime."""
    from hub.access.keys import box_of
    from hub.mqtt.oneshot import publish_once
    from hub.services.key_rotation import RotationInProgress, rotate_gate_key
    from protocol import envelope, topics

    settings = get_settings()
    with _session() as s:
        row = s.exec(
            select(Gate)
            .join(Site, Site.id == Gate.site_id)  # type: ignore[arg-type]
            .where(Site.slug == site, Gate.slug == gate)
        ).first()
        if row is None:
            raise typer.BadParameter(f"no gate {gate!r} at {site}")
        from hub.clock.manual import clock_for

        try:
            body = rotate_gate_key(
                s, gate_id=row.id or 0, clock=clock_for(settings), actor="cli", overlap_s=overlap
            )
        except (RotationInProgress, ValueError) as err:
            raise typer.BadParameter(str(err)) from None
        s.commit()
        old = box_of(s).open(row.prev_key_enc or "")
        until = row.prev_key_until
    typer.echo(f"gate {site}/{gate}: key {row.prev_key_id} -> {row.key_id}, both until {until}")
    if send:
        publish_once(settings, topics.down(site, gate, "cmd"), envelope.seal_json(old, body))
        typer.echo("rekey command sent")


@app.command("broker-config")
def broker_config(
    out: Annotated[Path, typer.Option("--out", help="folder for mosquitto.conf, passwd, acl")],
    listen: str | None = typer.Option(
        None, help="HOST:PORT the broker listens on (default 0.0.0.0:1883, TLS 0.0.0.0:8883)"
    ),
    run_as: str = typer.Option("mosquitto", help="system user the broker runs as"),
    tls: bool = typer.Option(False, "--tls", help="one TLS listener only (production)"),
    cert: Annotated[Path | None, typer.Option(help="broker certificate (PEM), --tls")] = None,
    key: Annotated[Path | None, typer.Option(help="broker private key (PEM), --tls")] = None,
    client_ca: Annotated[
        Path | None, typer.Option(help="CA signing gate client certificates")
    ] = None,
    require_client_cert: bool = typer.Option(
        False, help="also demand a client certificate from --client-ca"
    ),
    hub_replicas: int = typer.Option(
        0,
        help="hub replicas, each with its own broker user hub-1..hub-N "
        "(credentials in OUT/hub-credentials/hub-N.env); 0: the one GATEHOUSE_MQTT_USERNAME",
    ),
) -> None:
    """Write a Mosquitto config, password file and ACL for the hub and every gate."""
    from hub.broker import BrokerConfigError, TlsFiles, write_broker_config

    files = None
    if tls:
        if cert is None or key is None:
            raise typer.BadParameter("--tls needs --cert and --key")
        files = TlsFiles(
            cert=str(cert.resolve()),
            key=str(key.resolve()),
            client_ca=str(client_ca.resolve()) if client_ca else None,
            require_client_cert=require_client_cert,
        )
    listen = listen or ("0.0.0.0:8883" if tls else "0.0.0.0:1883")
    with _session() as s:
        try:
            conf = write_broker_config(
                out,
                session=s,
                settings=get_settings(),
                listen=listen,
                run_as=run_as,
                tls=files,
                hub_replicas=hub_replicas,
            )
        except BrokerConfigError as err:
            raise typer.BadParameter(str(err)) from None
    typer.echo(f"wrote {conf}{' (TLS only)' if tls else ''}; run: mosquitto -c {conf}")
    if hub_replicas:
        typer.echo(f"hub replica credentials: {conf.parent / 'hub-credentials'}/hub-N.env")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="HTTP port"),
) -> None:
    """Serve the API and run the MQTT service (uvicorn)."""
    import uvicorn

    from hub.app import create_app
    from hub.clock.manual import clock_for

    settings = get_settings()
    app = create_app(settings, clock=clock_for(settings), start_mqtt=True)
    uvicorn.run(app, host=host, port=port)
