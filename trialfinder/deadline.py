"""An overall time limit for the requests of one command, so a stalled server cannot hold it."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

from .exceptions import InputError

DEADLINE_ENV = "TRIALFINDER_DEADLINE"
DEFAULT_DEADLINE = 120.0  # search, show, doctor: a person is waiting
DIGEST_DEADLINE = 600.0  # digest: several walks and look-ups from cron; nobody is waiting


class Deadline:
    """A point in time, ``seconds`` from when it is made; ``left()`` says how much is left."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.ends = clock() + seconds

    def left(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self.ends - self.clock())

    def __repr__(self) -> str:
        return f"<Deadline {self.seconds:g} s, {self.left():.1f} s left>"


def deadline_seconds(default: float) -> float:
    """``$TRIALFINDER_DEADLINE`` in seconds, else ``default``; InputError for a bad value."""
    return env_number(DEADLINE_ENV, default)


def env_number(name: str, default: float, *, whole: bool = False) -> float:
    """A positive (``whole``: whole) number from the environment, the default when unset;
    InputError for any other value, which would otherwise be silently ignored."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0) or (whole and not value.is_integer()):
        what = "a whole number greater than zero" if whole else "a number of seconds greater than zero"
        raise InputError(f"{name}={text!r} is not {what}")
    return value
