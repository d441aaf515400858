"""One walk per distinct question: saved searches that ask the same thing share a fetch.

A digest run often has many saved searches asking the API the same question for
different recipients, radii or profiles. :class:`SharedWalks` is a
:class:`~trialfinder.client.Client` that remembers, for the run, every walk of
``GET /studies`` it finished, and answers a later identical request from it.

Searches that differ only in their radius around the same point share too: the
API matches a study when any of its sites lies inside the distance, so the walk
with the largest radius returns every study a smaller one would, and
:func:`trialfinder.finder.search` then keeps, as always, only the trials with a
qualifying site inside each search's own radius (a site the API and this module
place differently near the edge can only add a trial, never hide one). Nothing
else is widened: any other difference in the parameters means a walk of its own.

The studies of a planned walk are also parsed once (``Trial.from_api``, every
site kept) and handed out as :class:`~trialfinder.models.Trial` objects, which
:func:`~trialfinder.finder.search` takes as they are; a record that cannot be
read is handed out raw, so each search skips it as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .client import Client
from .exceptions import RecordError
from .fastparse import SiteCache, Study, decode_page, trial_from_study
from .models import Trial
from .query import KM_PER_MILE, Query

_GEO = re.compile(r"distance\(([^,()]+),([^,()]+),(\d+(?:\.\d+)?)(mi|km)\)")
Key = tuple[tuple[str, str], ...]


def _split(params: Mapping[str, str]) -> tuple[Key, float | None]:
    """(the parameters with the radius taken out, the radius in miles or None)."""
    found = _GEO.fullmatch(params.get("filter.geo", ""))
    if not found:
        return tuple(sorted(params.items())), None
    lat, lon, value, unit = found.groups()
    rest = {k: v for k, v in params.items() if k != "filter.geo"}
    rest["filter.geo"] = f"distance({lat},{lon},*)"
    miles = float(value) if unit == "mi" else float(value) / KM_PER_MILE
    return tuple(sorted(rest.items())), miles


class SharedWalks(Client):
    """A client that walks each distinct ``GET /studies`` question once per run.

    ``queries`` are the searches the run will make (for the widest radius of each
    group, and to let a walk go once its last search has used it). It shares the
    given client's session and settings.
    """

    def __init__(self, client: Client, queries: Iterable[Query]) -> None:  # shares client's state, no super().__init__
        vars(self).update(vars(client))
        self.walks: dict[Key, list[Any]] = {}
        self.widest: dict[Key, tuple[float, str]] = {}  # group -> (miles, filter.geo)
        self.uses: dict[Key, int] = {}
        self.requests_saved = 0  # walks answered from memory
        self.sites_seen: SiteCache = {}  # one Site object per distinct location, for the run
        for query in queries:
            params = query.with_(limit=None).params()
            group, miles = _split(params)
            self.uses[group] = self.uses.get(group, 0) + 1
            if miles is not None and miles > self.widest.get(group, (-1.0, ""))[0]:
                self.widest[group] = (miles, params["filter.geo"])

    def iter_studies(
        self, params: Mapping[str, str], max_pages: int = 10_000, **options: Any
    ) -> Iterator[Any]:
        """Every study for ``params``, from memory when this run already walked it (or wider)."""
        base = {k: v for k, v in params.items() if k != "fields"}
        group, miles = _split(base)
        walk = dict(params)
        widest = self.widest.get(group)
        if miles is not None and widest is not None and widest[0] >= miles:
            walk["filter.geo"] = widest[1]
        key = tuple(sorted(walk.items()))
        records = self.walks.get(key)
        if records is None:
            planned = group in self.uses  # a search: parse once for all its searches
            options["decode"] = decode_page if planned else None
            records = list(super().iter_studies(walk, max_pages, **options))
            if planned:
                records = [_parsed(r, self.sites_seen) for r in records]
            self.walks[key] = records
        else:
            self.requests_saved += 1
        left = self.uses.get(group)
        if left is not None:
            self.uses[group] = left - 1
            if left <= 1:  # its last planned search: let the walks of this group go
                for k in [k for k in self.walks if _split({p: v for p, v in k if p != "fields"})[0] == group]:
                    del self.walks[k]
        return iter(records)


def _parsed(record: Any, sites_seen: SiteCache) -> Any:
    """The record as a Trial with every site, or as it came when it cannot be read."""
    try:
        if type(record) is Study:
            return trial_from_study(record, None, sites_seen, every_site=True)
        return Trial.from_api(record)
    except RecordError:
        return record
