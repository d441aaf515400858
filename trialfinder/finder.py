"""One search, start to finish: fetch, parse, keep the trials near enough, rank."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .client import Client
from .conditions import ConditionCheck, left_out_line
from .exceptions import RecordError, ShortWalk
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
    off_condition: list[Match] = field(default_factory=list)  # left out: not the condition asked
    condition_note: str = ""  # why trials were not checked against the condition, if they were not
    short: ShortWalk | None = None  # set when the walk came up short of the total, even restarted
    warnings: list[str] = field(default_factory=list)

    @property
    def near(self) -> bool:
        return self.query.place is not None

    def notes(self, option: str = "--include-off-condition") -> list[str]:
        """Lines for a footer: trials left out as off-condition (``option`` shows them), or
        why none were checked."""
        line = left_out_line([m.trial for m in self.off_condition], self.query.condition_text, option)
        return [text for text in (line, self.condition_note) if text]


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

    Trials whose conditions are not the one asked are left out (``off_condition``)
    unless ``query.include_off_condition``. A walk that comes up short of the
    announced total (the data changed mid-walk) is restarted once; if it is short
    again, the answer merges both walks (the later record wins) and says so in
    ``warnings``, with ``short`` set.
    """
    check = ConditionCheck("" if query.include_off_condition else query.condition_text)
    result = SearchResult(query, [])
    walk = _Walk(client, query, check, result, on_skip, keep_sites)
    short = walk.run()
    if short is not None:
        first = walk.matches
        walk = _Walk(client, query, check, result, on_skip, keep_sites)
        again = walk.run()
        if again is not None:
            result.short = again
            result.warnings.append(
                f"the registry's data changed during the search ({again.count} of {again.total} "
                "studies came back, twice); trials may be missing: run it again later")
            for nct_id, m in first.items():
                if nct_id not in walk.seen:  # what the second walk saw, it judged afresh
                    walk.matches[nct_id] = m
    matches = []
    for m in walk.matches.values():
        on = check.on_condition(m.trial)
        if not keep_sites:  # judged: the keywords and MeSH terms are no longer needed
            m = replace(m, trial=replace(m.trial, keywords=(), condition_meshes=()))
        if on:
            matches.append(m)
        else:
            result.off_condition.append(m)
    result.condition_note = check.describe()
    ranked = rank(matches, query.effective_sort)
    if query.limit is not None and len(ranked) > query.limit:
        ranked = ranked[: query.limit]
        result.truncated = True
    result.matches = ranked
    return result


class _Walk:
    """One walk of the pages of a search: the matches by NCT ID, in the order they came."""

    def __init__(self, client: Client, query: Query, check: ConditionCheck, result: SearchResult,
                 on_skip: Callable[[str], None] | None, keep_sites: bool) -> None:
        self.client, self.query, self.check, self.result = client, query, check, result
        self.on_skip, self.keep_sites = on_skip, keep_sites
        self.matches: dict[str, Match] = {}
        self.seen: set[str] = set()  # every study read, matching or not

    def run(self) -> ShortWalk | None:
        """Walk every page (or until ``--limit`` is surely met); the ShortWalk if it came up short."""
        query, check, result = self.query, self.check, self.result
        site_filter = None if self.keep_sites else raw_site_filter(query)
        params = query.params()
        params["fields"] = ",".join(SEARCH_FIELDS)
        may_stop_early = query.effective_sort != "distance" and query.limit is not None
        surely_on = 0
        try:
            for record in self.client.iter_studies(params, prefetch=not may_stop_early):
                result.fetched += 1
                try:
                    trial = Trial.from_api(record, site_filter)
                except RecordError as exc:
                    result.skipped.append(str(exc))
                    if self.on_skip:
                        self.on_skip(str(exc))
                    continue
                if trial.nct_id in self.seen:  # the data changed mid-walk and a study moved pages
                    continue
                self.seen.add(trial.nct_id)
                check.observe(trial)
                found = match(trial, query)
                if found is None:
                    continue
                if not self.keep_sites:
                    found = replace(found, trial=replace(trial, sites=()))
                self.matches[trial.nct_id] = found
                surely_on += check.surely_on(trial)
                if may_stop_early and surely_on > query.limit:  # type: ignore[operator]
                    break
        except ShortWalk as exc:
            return exc
        return None
