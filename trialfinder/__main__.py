"""``python -m trialfinder``: the same as the ``trialfinder`` command."""

from .cli import main

main()
