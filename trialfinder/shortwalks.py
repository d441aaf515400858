"""Walks that come up short of ``totalCount``: the registry's data changed mid-walk.

The registry refreshes its data on weekday mornings; a walk of several pages can then
miss studies that moved between pages. :func:`walk_twice` restarts such a walk once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from .client import Client
from .exceptions import ShortWalk

RESTART = object()  # yielded between a short walk and its restart: forget what came before


class Outcome(Protocol):
    short: ShortWalk | None
    warnings: list[str]


def walk_twice(client: Client, params: Mapping[str, str], outcome: Outcome, **options: Any) -> Iterator[Any]:
    """The studies of a walk (``client.iter_studies(params, **options)``); when it comes up
    short, :data:`RESTART` and then the studies of a second walk. When that is short too,
    ``outcome.short`` is set and a warning added: the caller decides what a short answer is worth.
    """
    try:
        yield from client.iter_studies(params, **options)
        return
    except ShortWalk:
        pass
    yield RESTART
    try:
        yield from client.iter_studies(params, **options)
    except ShortWalk as exc:
        outcome.short = exc
        outcome.warnings.append(
            f"the registry's data changed during the search ({exc.count:,} of {exc.total:,} studies "
            "came back, twice); trials may be missing: run it again later")
