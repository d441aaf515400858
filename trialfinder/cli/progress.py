"""Progress on stderr during a long search: "fetched 3,000 of 9,412 studies"."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import click

DELAY = 1.0  # seconds: a search still waiting for its first page by then shows progress


class Progress:
    """An ``on_progress(fetched, total)`` callback drawing click's progress bar on stderr.

    It appears only when stderr is a terminal, and only once the search is known to walk
    more than one page, or has taken more than about a second; a pipe or file gets nothing.
    """

    def __init__(self, enabled: bool | None = None, delay: float = DELAY) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.delay = delay
        self.started = time.monotonic()
        self.bar: Any = None
        self.shown = 0
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def __call__(self, fetched: int, total: int | None) -> None:
        if not self.enabled:
            return
        with self.lock:
            if self.bar is None:
                more_pages = total is not None and fetched < total
                if not more_pages and time.monotonic() - self.started < self.delay:
                    return
                self._open(max(total or 0, fetched, 1))
            if total is not None and self.bar.length != max(total, fetched, 1):
                self.bar.length = max(total, fetched, 1)
            self.bar.update(fetched - self.shown, (fetched, total))
            self.shown = fetched

    def _open(self, length: int, item: tuple[int, int | None] | None = None) -> None:
        self.bar = click.progressbar(
            length=length, file=sys.stderr, show_eta=False, show_percent=False,
            item_show_func=_describe, label="",
        )
        self.bar.current_item = item  # shown by the first render, which __enter__ draws
        self.bar.__enter__()

    def _waiting(self) -> None:
        """Still no page after ``delay`` seconds: say the search is under way."""
        with self.lock:
            if self.bar is None and self.enabled:
                self._open(1, (0, None))

    def __enter__(self) -> Progress:
        if self.enabled:
            self.timer = threading.Timer(self.delay, self._waiting)
            self.timer.daemon = True
            self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            if self.bar is not None:
                self.bar.__exit__(None, None, None)
                self.bar = None
            self.enabled = False


def _describe(item: tuple[int, int | None] | None) -> str | None:
    if item is None:
        return None
    fetched, total = item
    if total is not None:
        return f"fetched {fetched:,} of {total:,} studies"
    return f"fetched {fetched:,} studies" if fetched else "fetching studies…"
