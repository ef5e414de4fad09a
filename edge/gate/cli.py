"""``gatehouse gate``: commands run on (or for) a Pi gate.

::

    gatehouse gate provision --hub URL --token T --out gate.toml   # first boot
    gatehouse gate run --config gate.toml                          # the daemon
    gatehouse gate run --config gate.toml --simulate               # mock pins, typed taps
    gatehouse gate status --config gate.toml                       # what the store holds
    gatehouse gate card-key 04:A1:B2:C3 --secret HEX               # a card's list key
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from edge.gate.config import ConfigError, GateConfig, load_config
from protocol.cardkey import card_key, parse_uid
from protocol.errors import ProtocolError

app = typer.Typer(help="Run and inspect a Raspberry Pi gate.", no_args_is_help=True)

CONFIG_OPTION = typer.Option(Path("/etc/gatehouse/gate.toml"), "--config", "-c", help="gate.toml")
SCRIPT_OPTION = typer.Option(
    None, "--script", help="With --simulate: a file of taps (UID, 'wait MS', 'hold UID MS')"
)
OUT_OPTION = typer.Option(Path("gate.toml"), "--out", help="Where to write the config")


@app.command("card-key")
def card_key_command(
    uid: str = typer.Argument(..., help="Card UID in hex, e.g. 04:A1:B2:C3:D4:E5:F6"),
    secret: str = typer.Option(..., "--secret", help="The site's card secret, as hex"),
) -> None:
    """Print the card key a gate stores for a card UID (what access lists contain)."""
    try:
        key = card_key(bytes.fromhex(secret), parse_uid(uid))
    except ValueError as err:  # ProtocolError is a ValueError
        msg = str(err) if isinstance(err, ProtocolError) else "secret must be hex"
        raise typer.BadParameter(msg) from None
    typer.echo(key.hex())


def _load(config: Path) -> GateConfig:
    try:
        return load_config(config)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None


@app.command("run")
def run_command(
    config: Path = CONFIG_OPTION,
    simulate: bool = typer.Option(
        False, "--simulate", help="Mock pins; card UIDs typed on stdin (or --script)"
    ),
    script: Path | None = SCRIPT_OPTION,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at debug level"),
) -> None:
    """Run the gate daemon: read cards, decide, pulse the relay, sync with the hub."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    cfg = _load(config)
    if simulate:
        from edge.gate.simulate import ScriptError, run_simulated

        try:
            run_simulated(cfg, script=script, stdin=None if script else sys.stdin)
        except ScriptError as err:
            typer.echo(f"error: {script}: {err}", err=True)
            raise typer.Exit(2) from None
        return
    if script is not None:
        raise typer.BadParameter("--script needs --simulate")
    from edge.gate.daemon import GateDaemon
    from edge.gate.rfid import ReaderUnavailable

    try:
        daemon = GateDaemon(cfg)
    except ReaderUnavailable as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(3) from None
    daemon.run_forever()


@app.command("status")
def status_command(config: Path = CONFIG_OPTION) -> None:
    """Show what the gate's local store holds: list, outbox, acks, clock."""
    from edge.gate.store import GateStore
    from gatehouse.clock import SystemClock

    cfg = _load(config)
    path = Path(cfg.store.path)
    if not path.exists():
        typer.echo(f"error: no store at {path} (the gate has not run yet)", err=True)
        raise typer.Exit(1)
    with GateStore(path) as store:
        s = store.summary()
    now = SystemClock().timestamp()

    def when(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).isoformat() if ts else "never"

    trusted = "trusted" if now >= s["issued"] else "UNTRUSTED (behind the list's issue time)"
    typer.echo(f"gate          {cfg.gate.site}/{cfg.gate.gate} (zone {cfg.gate.zone})")
    typer.echo(f"store         {path} (id {s['sid']})")
    typer.echo(f"access list   v{s['version']}, {s['records']} cards, issued {when(s['issued'])}")
    typer.echo(f"outbox        {s['outbox']} check-ins waiting")
    typer.echo(f"acked seq     {s['acked']} of {s['last_seq']}")
    typer.echo(f"clock         {when(now)} {trusted}")


@app.command("provision")
def provision_command(
    hub: str = typer.Option(..., "--hub", help="The hub's URL, e.g. https://hub.example.org"),
    token: str = typer.Option(..., "--token", help="The one-time token from the console"),
    out: Path = OUT_OPTION,
    store: str | None = typer.Option(None, "--store", help="Path of the gate's SQLite store"),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing config"),
) -> None:
    """Claim a gate's configuration from the hub with an installer's token."""
    from edge.gate.config import dump_config
    from edge.gate.provision import ProvisionError, claim, config_from_claim

    if out.exists() and not force:
        typer.echo(f"error: {out} exists; pass --force to replace it", err=True)
        raise typer.Exit(1)
    try:
        cfg = config_from_claim(claim(hub, token), hub, store)
    except ProvisionError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    if cfg.mqtt.ca.startswith("-----BEGIN"):
        ca_path = out.with_name(out.stem + "-ca.pem")
        ca_path.write_text(cfg.mqtt.ca)
        cfg.mqtt.ca = str(ca_path)
    dump_config(cfg, out)
    typer.echo(f"wrote {out} for gate {cfg.gate.site}/{cfg.gate.gate} (mode 0600)")
