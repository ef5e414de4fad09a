"""``python -m gatehouse`` is the ``gatehouse`` command."""

from gatehouse.cli import main

main()
