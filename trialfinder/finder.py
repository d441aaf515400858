"""One search, start to finish: fetch, parse, keep the trials near enough, rank."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .client import Client
from .conditions import ConditionCheck, left_out_line, unchecked_line
from .exceptions import RecordError, ShortWalk
from .models import Trial
from .query import SEARCH_FIELDS, Query
from .ranking import Match, match, rank, raw_site_filter
from .shortwalks import RESTART, walk_twice


@dataclass
class SearchResult:
    """The ranked matches, and what was fetched to find them."""

    query: Query
    matches: list[Match]
    fetched: int = 0  # studies the API returned
    skipped: list[str] = field(default_factory=list)  # records that could not be read
    truncated: bool = False  # --limit cut the list
    off_condition: list[Match] = field(default_factory=list)  # left out: not the condition asked
    unchecked: list[Match] = field(default_factory=list)  # shown, though nothing names the condition
    condition_note: str = ""  # why trials were not checked against the condition, if they were not
    short: ShortWalk | None = None  # set when the walk came up short of the total, even restarted
    warnings: list[str] = field(default_factory=list)
    total: int | None = None  # matches before --limit cut them, when the walk saw them all
    eligibility: dict[str, Any] = field(default_factory=dict)  # NCT ID -> Assessment (with a profile)
    hidden: list[Match] = field(default_factory=list)  # ruled out by the profile, left out of a table

    @property
    def near(self) -> bool:
        return self.query.place is not None or self.query.region is not None

    def notes(self, option: str = "--include-off-condition") -> list[str]:
        """Lines for a footer: trials left out as off-condition (``option`` shows them), or
        why none were checked."""
        line = left_out_line([m.trial for m in self.off_condition], self.query.condition_text, option)
        unchecked = unchecked_line([m.trial for m in self.unchecked], self.query.condition_text)
        return [text for text in (line, unchecked, self.condition_note) if text]


def search(
    client: Client,
    query: Query,
    *,
    on_skip: Callable[[str], None] | None = None,
    keep_sites: bool = False,
    on_progress: Callable[[int, int | None], None] | None = None,
    extra_fields: tuple[str, ...] = (),
) -> SearchResult:
    """Run ``query`` against the API and rank what comes back.

    When the API can sort the way the user asked (by update or posting date),
    the walk stops as soon as ``query.limit`` trials qualify; ranking by
    distance needs every page. Unless ``keep_sites``, only sites inside the
    radius are parsed, and each kept trial drops even those once ranked (the
    qualifying ones stay in ``Match.nearby``): time and memory grow with what
    matters, not with every site of every study. ``extra_fields`` are fetched
    besides the usual projection (e.g. the eligibility criteria for a pre-screen).

    Trials whose conditions are not the one asked are left out (``off_condition``)
    unless ``query.include_off_condition``. A walk that comes up short of the
    announced total (the data changed mid-walk) is restarted once; if it is short
    again, the answer merges both walks (the later record wins), with ``short`` set
    and a warning. ``on_progress(fetched, total)`` is called as each page of
    studies arrives (``total`` as the API counted it, if it did).
    """
    site_filter = None if keep_sites else raw_site_filter(query)
    params = query.params()
    params["fields"] = ",".join((*SEARCH_FIELDS, *(f for f in extra_fields if f not in SEARCH_FIELDS)))
    sort = query.effective_sort
    result = SearchResult(query, [])
    matches: list[Match] = []
    seen: set[str] = set()
    # Ranking by distance or by sites in a region needs every page; the API's sorts do not.
    may_stop_early = sort not in ("distance", "sites") and query.limit is not None
    check = ConditionCheck("" if query.include_off_condition else query.condition_text)
    surely_on, first = 0, dict[str, Match]()
    stopped_early = False
    for record in walk_twice(client, params, result, prefetch=not may_stop_early, on_page=on_progress):
        if record is RESTART:  # the data changed mid-walk: walk again; the later record wins
            first, matches, seen, surely_on = {m.trial.nct_id: m for m in matches}, [], set(), 0
            continue
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
        check.observe(trial)
        found = match(trial, query)
        if found is None:
            continue
        if not keep_sites:
            found = replace(found, trial=replace(trial, sites=()))
        matches.append(found)
        surely_on += check.surely_on(trial)  # trials left out below must not end the walk
        if may_stop_early and query.limit is not None and surely_on > query.limit:
            stopped_early = True
            break
    if result.short is not None:  # short twice: what only the first walk saw counts too
        matches += [m for nct_id, m in first.items() if nct_id not in seen]
    matches = on_condition(check, matches, result, keep_sites)
    ranked = rank(matches, sort)
    result.total = None if stopped_early else len(ranked)
    if query.limit is not None and len(ranked) > query.limit:
        ranked = ranked[: query.limit]
        result.truncated = True
    result.matches = ranked
    return result


def on_condition(check: ConditionCheck, matches: list[Match], result: SearchResult,
                 keep_sites: bool) -> list[Match]:
    """The matches on condition; the others go to ``result.off_condition``."""
    kept: list[Match] = []
    for m in matches:
        on = check.on_condition(m.trial)
        if on and check.unsure(m.trial):
            result.unchecked.append(m)
        if not keep_sites:  # judged: the keywords and MeSH terms are no longer needed
            m = replace(m, trial=replace(m.trial, keywords=(), condition_meshes=()))
        (kept if on else result.off_condition).append(m)
    result.condition_note = check.describe()
    return kept
