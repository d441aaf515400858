"""One search, start to finish: fetch, parse, keep the trials near enough, rank."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .client import Client
from .exceptions import RecordError
from .models import Trial
from .query import SEARCH_FIELDS, Query
from .ranking import Match, match, rank, raw_site_filter


@dataclass
class SearchResult:
    """The ranked matches, and what was fetched to find them."""

    query: Query
    matches: list[Match]
    fetched: int = 0  # studies the API returned
    skipped: list[str] = field(default_factory=list)  # records that could not be read
    truncated: bool = False  # --limit cut the list

    @property
    def near(self) -> bool:
        return self.query.place is not None or self.query.region is not None


def search(
    client: Client,
    query: Query,
    *,
    on_skip: Callable[[str], None] | None = None,
    keep_sites: bool = False,
) -> SearchResult:
    """Run ``query`` against the API and rank what comes back.

    When the API can sort the way the user asked (by update or posting date),
    the walk stops as soon as ``query.limit`` trials qualify; ranking by
    distance needs every page. Unless ``keep_sites``, only sites inside the
    radius are parsed, and each kept trial drops even those once ranked (the
    qualifying ones stay in ``Match.nearby``): time and memory grow with what
    matters, not with every site of every study.
    """
    site_filter = None if keep_sites else raw_site_filter(query)
    params = query.params()
    params["fields"] = ",".join(SEARCH_FIELDS)
    sort = query.effective_sort
    result = SearchResult(query, [])
    matches: list[Match] = []
    seen: set[str] = set()
    # Ranking by distance or by sites in a region needs every page; the API's sorts do not.
    may_stop_early = sort not in ("distance", "sites") and query.limit is not None
    for record in client.iter_studies(params, prefetch=not may_stop_early):
        result.fetched += 1
        try:
            trial = Trial.from_api(record, site_filter)
        except RecordError as exc:
            result.skipped.append(str(exc))
            if on_skip:
                on_skip(str(exc))
            continue
        if trial.nct_id in seen:  # the data changed mid-walk and a study moved pages
            continue
        seen.add(trial.nct_id)
        found = match(trial, query)
        if found is None:
            continue
        if not keep_sites:
            found = replace(found, trial=replace(trial, sites=()))
        matches.append(found)
        if may_stop_early and query.limit is not None and len(matches) > query.limit:
            break
    ranked = rank(matches, sort)
    if query.limit is not None and len(ranked) > query.limit:
        ranked = ranked[: query.limit]
        result.truncated = True
    result.matches = ranked
    return result
