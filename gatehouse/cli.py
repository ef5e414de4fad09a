"""The ``gatehouse`` command: one entry point, a group per part of the product.

::

    gatehouse hub ...        run and administer the hub
    gatehouse gate ...       run and inspect a Raspberry Pi gate
    gatehouse firmware ...   build and flash the MicroPython gate
    gatehouse demo           run a whole club on this machine
"""

from __future__ import annotations

import typer

from edge.fwbuild.cli import app as firmware_app
from edge.gate.cli import app as gate_app
from gatehouse.demo import demo_command
from hub.cli import app as hub_app

app = typer.Typer(
    help="Gatehouse: access control and billing for gyms, clubs and makerspaces.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(gate_app, name="gate")
app.add_typer(firmware_app, name="firmware")
app.add_typer(hub_app, name="hub")
app.command("demo")(demo_command)


def main() -> None:
    """Console-script entry point."""
    app()
