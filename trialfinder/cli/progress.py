"""Progress on stderr while a search walks many pages: "fetched 3,000 of 9,412 studies"."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

DELAY = 1.0  # seconds before a walk that is not yet known to be long shows progress


class Progress:
    """A ``on_progress(fetched, total)`` callback drawing click's progress bar on stderr.

    It appears only when stderr is a terminal, and only once the walk is known to take
    more than one page or more than about a second; a pipe or file gets nothing.
    """

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.bar: Any = None
        self.shown = 0

    def __call__(self, fetched: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            more_pages = total is not None and fetched < total
            if not more_pages and time.monotonic() - self.started < DELAY:
                return
            self.bar = click.progressbar(
                length=max(total or 0, fetched), file=sys.stderr, show_eta=False, show_percent=False,
                item_show_func=_describe, label="",
            )
            self.bar.__enter__()
        self.bar.update(fetched - self.shown, (fetched, total))
        self.shown = fetched

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _describe(item: tuple[int, int | None] | None) -> str | None:
    if item is None:
        return None
    fetched, total = item
    return f"fetched {fetched:,} of {total:,} studies" if total is not None else f"fetched {fetched:,} studies"
