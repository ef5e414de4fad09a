"""``gatehouse gate``: commands run on (or for) a Pi gate."""

from __future__ import annotations

import typer

from protocol.cardkey import card_key, parse_uid
from protocol.errors import ProtocolError

app = typer.Typer(help="Run and inspect a Raspberry Pi gate.", no_args_is_help=True)


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
