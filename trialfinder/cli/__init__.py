"""The ``trialfinder`` command: parses options, calls the library, renders output.

One module per family of commands; ``base`` holds the group and what they share.
"""

from . import digest, doctor, reference, search  # noqa: F401  (registers the commands)
from .base import cli, main

__all__ = ["cli", "main"]
