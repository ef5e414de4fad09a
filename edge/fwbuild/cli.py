"""``gatehouse firmware``: build, flash and type-check the MicroPython gate."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from edge.fwbuild.boards import BOARDS, Board, board
from edge.fwbuild.build import BuildError, build, flash_commands
from edge.fwbuild.gateconfig import ConfigError, firmware_config
from edge.fwbuild.typecheck import typecheck

app = typer.Typer(
    help="Build and flash the MicroPython gate (ESP32, Pico W).", no_args_is_help=True
)

BOARD_HELP = "Board: " + ", ".join(f"{b.name} ({b.title})" for b in BOARDS.values())


def _board(name: str) -> Board:
    try:
        return board(name)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


@app.command("build")
def build_command(
    board_name: Annotated[str, typer.Option("--board", help=BOARD_HELP)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the build (emptied first)")],
    config: Annotated[
        Path | None,
        typer.Option("--config", help="The gate's provisioning config (JSON) from the hub"),
    ] = None,
    port: Annotated[
        str, typer.Option("--port", help="Serial port to show in the commands")
    ] = "PORT",
) -> None:
    """Compile the firmware with mpy-cross, write the gate's config.json, and print the
    mpremote commands that flash it."""
    target = _board(board_name)
    cfg = None
    if config is not None:
        try:
            cfg = firmware_config(json.loads(config.read_text()), target)
        except (OSError, json.JSONDecodeError) as err:
            raise typer.BadParameter(f"cannot read {config}: {err}") from None
        except ConfigError as err:
            raise typer.BadParameter(f"{config}: {err}") from None
    try:
        result = build(target, out, cfg)
    except BuildError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"built {len(result.files)} files for {target.title} in {out}")
    if cfg is None:
        typer.echo("no --config: copy the gate's config.json to the board yourself")
    typer.echo("flash with:")
    for cmd in flash_commands(port, out):
        typer.echo("  " + shlex.join(cmd))


@app.command("flash")
def flash_command(
    port: Annotated[
        str, typer.Option("--port", help="Serial port of the board, e.g. /dev/ttyUSB0")
    ],
    build_dir: Annotated[Path, typer.Option("--dir", help="A folder made by 'firmware build'")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the commands, run nothing")
    ] = False,
) -> None:
    """Copy a build to the board with mpremote, then reset it."""
    if not (build_dir / "manifest.json").exists():
        raise typer.BadParameter(f"{build_dir} is not a firmware build (no manifest.json)")
    cmds = flash_commands(port, build_dir)
    if dry_run:
        for cmd in cmds:
            typer.echo(shlex.join(cmd))
        return
    if shutil.which("mpremote") is None:
        typer.echo("mpremote is not installed: pip install mpremote", err=True)
        raise typer.Exit(1)
    for cmd in cmds:
        typer.echo("$ " + shlex.join(cmd))
        done = subprocess.run(cmd)
        if done.returncode != 0:
            typer.echo(f"mpremote failed ({done.returncode}); flashing stopped", err=True)
            raise typer.Exit(done.returncode)


@app.command("typecheck")
def typecheck_command(
    board_name: Annotated[str, typer.Option("--board", help=BOARD_HELP)],
) -> None:
    """Run mypy on the firmware against the board's MicroPython stubs."""
    try:
        result = typecheck(_board(board_name))
    except FileNotFoundError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    typer.echo(result.stdout.strip())
    raise typer.Exit(result.returncode)
