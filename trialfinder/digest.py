"""What is new, changed or gone for a saved search since its last successful digest.

The same search, place and nearest-recruiting-site rule as ``trialfinder
search`` (:func:`trialfinder.finder.search`); this module only compares the
result with what the state database says was reported before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .actionable import CONTACT_FIELDS, ContactInfo, best_contact, who_may_join
from .client import Client
from .config import SavedSearch
from .exceptions import RecordError
from .finder import search
from .models import Site, Trial, normalise_nct_id
from .query import SEARCH_FIELDS
from .ranking import Match, NearbySite, match, site_status
from .render import distance_label, phase_label, site_label, status_label
from .store import Reported, State
from .walks import SharedWalks

MAX_ITEMS = 50  # per e-mail; the rest follow in the next digest
LOOKUP_CHUNK = 200  # NCT IDs per filter.ids request (keeps URLs short)
NEWLY_REGISTERED_DAYS = 14


@dataclass
class Item:
    """One trial in a digest, and why it is there."""

    kind: str  # "new" | "changed" | "gone"
    nct_id: str
    label: str  # acronym or short title
    url: str
    why: str  # the one-line reason it matters: drug, phase, status, distance
    details: list[str] = field(default_factory=list)  # what changed / why it is gone
    snapshot: dict[str, Any] = field(default_factory=dict)
    fit: str = ""  # with a profile: whether the trial could fit, and why
    who: str = ""  # new and changed items: "ages 18 years to 55 years, all sexes"
    contact: ContactInfo | None = None  # new and changed items: whom to ask about joining


@dataclass
class Digest:
    """The news for one saved search, and the state to record once it is delivered."""

    search: SavedSearch
    new: list[Item]
    changed: list[Item]
    gone: list[Item]
    matching: int
    last_run: str | None
    snapshots: dict[str, dict[str, Any]]  # every current match, for recording
    unchanged: set[str] = field(default_factory=set)  # reported before, nothing to say now
    deferred: int = 0  # items beyond the cap, left for the next digest
    totals: tuple[int, int, int] | None = None  # new, changed, gone before the cap (None: no cap hit)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the e-mail's footer: trials left out
    retire: dict[str, str | None] = field(default_factory=dict)  # ID -> the ID it waits for, if any

    @property
    def items(self) -> list[Item]:
        return self.new + self.changed + self.gone

    @property
    def empty(self) -> bool:
        return not self.items

    def counts(self) -> tuple[int, int, int]:
        return len(self.new), len(self.changed), len(self.gone)

    def to_record(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Snapshots to store and IDs to retire, covering only what this digest shows.

        Unshown items keep their old state, so they are reported next time.
        """
        shown = {i.nct_id for i in self.items}
        held = set(self.snapshots) - shown - self.unchanged
        current = {k: v for k, v in self.snapshots.items() if k not in held}
        retired = [k for k, after in self.retire.items() if after is None or after not in held]
        return current, [i.nct_id for i in self.gone] + retired


# -- snapshots: what a digest says about a trial ---------------------------------


def site_key(site: Site) -> str:
    return "|".join(p.casefold() for p in (site.facility, site.city, site.state, site.country))


def _site_snapshot(nearby: NearbySite) -> dict[str, Any]:
    s = nearby.site
    return {"key": site_key(s), "label": site_label(s), "distance_mi": None if nearby.distance_mi is None else round(nearby.distance_mi, 1),
            "status": nearby.status}


def snapshot(m: Match) -> dict[str, Any]:
    t = m.trial
    return {
        "nct_id": t.nct_id, "title": t.title, "acronym": t.acronym, "status": t.status,
        "phases": list(t.phases), "min_age": t.min_age, "max_age": t.max_age, "sex": t.sex,
        "first_posted": t.first_posted, "matched_drugs": list(m.matched_drugs),
        "nearest": _site_snapshot(m.nearest) if m.nearest else None,
        "sites": [_site_snapshot(n) for n in m.nearby],
    }


def why(snap: dict[str, Any], unit: str, radius: str) -> str:
    """``'tolebrutinib · phase 3 · Recruiting · nearest site: MGH, Boston, MA, 0.5 mi (2 within 150 mi)'``."""
    parts = []
    if snap.get("matched_drugs"):
        parts.append(", ".join(snap["matched_drugs"]))
    parts.append(f"phase {phase_label(snap.get('phases', []))}")
    parts.append(status_label(snap.get("status", "")))
    nearest = snap.get("nearest")
    if nearest and nearest.get("distance_mi") is None:  # a region search
        parts.append(f"site: {nearest['label']} ({len(snap.get('sites', []))} in the region)")
    elif nearest:
        count = len(snap.get("sites", []))
        parts.append(f"nearest site: {nearest['label']}, {distance_label(nearest['distance_mi'], unit)}"
                     f" ({count} within {radius})")
    return " · ".join(parts)


def matches_again(before: dict[str, Any], now: dict[str, Any]) -> str:
    """Why a trial reported as no longer matching is news again, naming the site that brings it back:
    ``'matches again after dropping out: the MGH, Boston, MA site is recruiting again'``."""
    nearest = now.get("nearest")
    if not nearest:
        return "matches again after dropping out"
    status = status_label(nearest.get("status", "")).lower()
    known = {s.get("key") for s in before.get("sites", [])}
    when = "again" if nearest.get("key") in known else "now"
    return f"matches again after dropping out: the {nearest['label']} site is {status} {when}"


def _ages(snap: dict[str, Any]) -> str:
    return f"{snap.get('min_age') or 'no minimum'} to {snap.get('max_age') or 'no maximum'}"


def changes(before: dict[str, Any], after: dict[str, Any], trial: Trial, unit: str) -> list[str]:
    """Human lines for what changed between two snapshots of one trial."""
    lines = []
    if before.get("status") != after.get("status"):
        lines.append(f"status: {status_label(before.get('status', ''))} → {status_label(after['status'])}")
    old_near, new_near = before.get("nearest"), after.get("nearest")
    if (old_near and new_near and old_near["key"] != new_near["key"]
            and None not in (old_near.get("distance_mi"), new_near.get("distance_mi"))):
        lines.append(f"nearest recruiting site is now {new_near['label']} "
                     f"({distance_label(new_near['distance_mi'], unit)}); was {old_near['label']} "
                     f"({distance_label(old_near['distance_mi'], unit)})")
    old_sites = {s["key"]: s for s in before.get("sites", [])}
    new_sites = {s["key"]: s for s in after.get("sites", [])}
    for key, s in new_sites.items():
        if key not in old_sites:
            status = status_label(s["status"]).lower()
            if s.get("distance_mi") is None:  # a region search
                lines.append(f"new site in the region: {s['label']} ({status})")
            else:
                lines.append(f"new site in range: {s['label']} "
                             f"({distance_label(s['distance_mi'], unit)}, {status})")
    current = {site_key(s): s for s in trial.sites}
    for key, s in old_sites.items():
        if key not in new_sites:
            lines.append(f"site no longer open to you: {s['label']} ({_site_fate(current.get(key), trial)})")
    if before.get("title") != after.get("title"):
        lines.append(f"title: {before.get('title')!r} → {after.get('title')!r}")
    if (before.get("min_age"), before.get("max_age")) != (after.get("min_age"), after.get("max_age")):
        lines.append(f"age limits: {_ages(before)} → {_ages(after)}")
    if before.get("sex") != after.get("sex"):
        lines.append(f"sex: {before.get('sex') or 'not stated'} → {after.get('sex') or 'not stated'}")
    return lines


def _site_fate(site: Site | None, trial: Trial) -> str:
    if site is None:
        return "no longer listed"
    return f"now {status_label(site_status(site, trial)).lower()}"


def gone_reasons(previous: dict[str, Any], trial: Trial | None, saved: SavedSearch) -> list[str]:
    """Why a reported trial dropped out, from its current record (None: not found)."""
    query = saved.query
    if trial is None:
        return ["no longer found on ClinicalTrials.gov"]
    if query.statuses and trial.status not in query.statuses:
        stopped = f" (why stopped: {trial.why_stopped})" if trial.why_stopped else ""
        return [f"now {status_label(trial.status).lower()}{stopped}"]
    if (query.place is not None or query.region is not None) and match(trial, query) is None:
        current = {site_key(s): s for s in trial.sites}
        lines = [f"the {s['label']} site is {_site_fate(current.get(s['key']), trial)}"
                 for s in previous.get("sites", [])]
        where = f"in {query.region.prose_name}" if query.region else f"within {query.radius}"
        return lines or [f"no recruiting site {where} any more"]
    return ["no longer matches the search terms (condition, drug or other filters)"]


# -- building a digest -----------------------------------------------------------


# The search's projection, why a trial stopped, and its former numbers (a renumbered trial).
LOOKUP_FIELDS = (*SEARCH_FIELDS, "WhyStopped", "NCTIdAlias")


def lookup(client: Client, nct_ids: list[str], fields: tuple[str, ...] = LOOKUP_FIELDS) -> dict[str, Trial]:
    """Current records of trials by ID (``filter.ids``), in chunks; missing IDs are absent.

    ``filter.ids`` also matches a study's former numbers (``NCTIdAlias``): a record
    found under another number is filed under each asked ID it is an alias of.
    """
    found: dict[str, Trial] = {}
    wanted = ",".join(fields)
    for start in range(0, len(nct_ids), LOOKUP_CHUNK):
        chunk = nct_ids[start : start + LOOKUP_CHUNK]
        for record in client.iter_studies({"filter.ids": ",".join(chunk), "fields": wanted}):
            try:
                trial = Trial.from_api(record)
            except RecordError:
                continue
            found[trial.nct_id] = trial
            for alias in aliases_of(record):
                found.setdefault(alias, trial)
    return found


def share_fetches(client: Client, searches: Iterable[SavedSearch]) -> Client:
    """A client for a run of ``searches`` that walks each distinct question once.

    Same digests as ``client``: see :mod:`trialfinder.walks` for what is shared.
    """
    return SharedWalks(client, [s.query for s in searches])


def prepare(client: Client, state: State, saved: SavedSearch, *, max_items: int = MAX_ITEMS) -> Digest:
    """Fetch the search now, compare with the state, and explain every difference.

    Raises ServiceError if any fetch fails: a failed or cut-short fetch never
    turns into "no longer matching".
    """
    query = saved.query.with_(limit=None)
    unit = query.radius.unit
    radius = str(query.radius)
    extra: tuple[str, ...] = ()
    if saved.profile is not None:
        from .eligibility import CRITERIA_FIELDS

        extra = CRITERIA_FIELDS
    result = search(client, query, keep_sites=True, extra_fields=extra)  # a lost site's fate needs the full list
    if result.short is not None:  # restarted once and still short: never "no longer matching"
        raise result.short
    reported: dict[str, Reported] = state.reported(saved.name)
    current = {m.trial.nct_id: m for m in result.matches}
    snapshots = {nct_id: snapshot(m) for nct_id, m in current.items()}

    new, changed, unchanged = [], [], set()
    last_run = state.last_run(saved.name)
    for nct_id, m in current.items():
        snap = snapshots[nct_id]
        before = reported.get(nct_id)
        label = m.trial.short_title
        if before is None or not before.active:
            again = f" ({matches_again(before.snapshot, snap)})" if before is not None else ""
            new.append(Item("new", nct_id, label, m.trial.url, why(snap, unit, radius),
                            [_posted(m.trial, last_run) + again], snap))
            continue
        lines = changes(before.snapshot, snap, m.trial, unit)
        if lines:
            changed.append(Item("changed", nct_id, label, m.trial.url, why(snap, unit, radius), lines, snap))
        else:
            unchanged.add(nct_id)

    warnings = []
    off = {m.trial.nct_id for m in result.off_condition}
    retire: dict[str, str | None] = {k: None for k, r in reported.items() if r.active and k in off}
    notes = result.notes("include_off_condition = true")
    if retire:
        were = "1 trial reported before is" if len(retire) == 1 else f"{len(retire)} trials reported before are"
        notes.append(f"{were} left out from now on, not as no longer matching: "
                     f"{'its' if len(retire) == 1 else 'their'} conditions are not {query.condition_text.strip()}.")
    dropped = [k for k, r in reported.items() if r.active and k not in current and k not in off]
    gone = []
    if dropped and result.skipped:
        warnings.append(f"{len(result.skipped)} records could not be read; not reporting any trial as "
                        "no longer matching this time")
        dropped = []
    records = lookup(client, dropped) if dropped else {}
    for old, record in sorted(records.items()):
        if old not in dropped or record.nct_id == old:
            continue
        if record.nct_id in current:  # renumbered, and still matching under its new number
            dropped.remove(old)
            retire[old] = record.nct_id
            renumbered(old, reported[old].snapshot, current[record.nct_id], new, changed, unit, radius)
            unchanged.discard(record.nct_id)
        elif record.nct_id in off:  # renumbered, and left out as off-condition
            dropped.remove(old)
            retire[old] = None
    for nct_id in sorted(dropped):
        prev = reported[nct_id].snapshot
        trial = records.get(nct_id)
        label = (trial.short_title if trial else "") or prev.get("acronym") or prev.get("title") or nct_id
        gone.append(Item("gone", nct_id, label, f"https://clinicaltrials.gov/study/{nct_id}",
                         gone_why(prev, trial), gone_reasons(prev, trial, saved), prev))

    if saved.profile is not None:
        from .eligibility import assess
        from .eligibility.render import summary

        for item in new + changed:
            item.fit = summary(assess(current[item.nct_id].trial, saved.profile))
    digest = Digest(saved, new, changed, gone, len(current), last_run, snapshots, unchanged,
                    warnings=warnings, notes=notes, retire=retire)
    cap = min(max_items, saved.query.limit or max_items)
    if len(digest.items) > cap:
        keep = digest.items[:cap]
        digest.totals = digest.counts()
        digest.deferred = len(digest.items) - cap
        digest.new = [i for i in keep if i.kind == "new"]
        digest.changed = [i for i in keep if i.kind == "changed"]
        digest.gone = [i for i in keep if i.kind == "gone"]
    add_contacts(client, digest.new + digest.changed)
    return digest


def add_contacts(client: Client, items: list[Item]) -> None:
    """Give each item who may join and whom to ask: one look-up for the shown trials only."""
    for item in items:
        item.who = who_may_join(item.snapshot)
    if not items:
        return
    records = lookup(client, [i.nct_id for i in items], CONTACT_FIELDS)
    for item in items:
        trial = records.get(item.nct_id)
        nearest = item.snapshot.get("nearest") or {}
        item.contact = best_contact(trial, nearest.get("key"), site_key, site_label) if trial else None


def gone_why(previous: dict[str, Any], trial: Trial | None) -> str:
    """The one-line summary of a trial that dropped out, as it is *now*.

    No nearest site: it no longer has a qualifying one, and the reasons say what
    became of the sites it had. Not found: only what was last reported, marked so.
    """
    drugs = ", ".join(previous.get("matched_drugs", []))
    if trial is None:
        was = f"last reported as {status_label(previous.get('status', '')).lower()}"
        return " · ".join(p for p in (drugs, f"phase {phase_label(previous.get('phases', []))}", was) if p)
    parts = [drugs, f"phase {phase_label(list(trial.phases))}", status_label(trial.status)]
    return " · ".join(p for p in parts if p)


def aliases_of(record: Any) -> list[str]:
    """A raw record's former NCT numbers (``identificationModule.nctIdAliases``), normalised."""
    ident = record.get("protocolSection", {}).get("identificationModule", {}) if isinstance(record, dict) else {}
    aliases = ident.get("nctIdAliases") if isinstance(ident, dict) else None
    found = []
    for alias in aliases if isinstance(aliases, list) else []:
        try:
            found.append(normalise_nct_id(str(alias)))
        except ValueError:
            continue
    return found


def renumbered(old: str, before: dict[str, Any], m: Match, new: list[Item], changed: list[Item],
               unit: str, radius: str) -> None:
    """A reported trial now matches under a new number: a change, never new and gone."""
    nct_id = m.trial.nct_id
    snap = snapshot(m)
    new[:] = [i for i in new if i.nct_id != nct_id]
    changed[:] = [i for i in changed if i.nct_id != nct_id]
    lines = [f"renumbered on ClinicalTrials.gov: {old} is now {nct_id}",
             *changes(before, snap, m.trial, unit)]
    changed.append(Item("changed", nct_id, m.trial.short_title, m.trial.url, why(snap, unit, radius),
                        lines, snap))


def _posted(trial: Trial, last_run: str | None) -> str:
    """Say whether a trial is newly registered or only new to this search."""
    if not trial.first_posted:
        return "new to this search"
    since = last_run[:10] if last_run else (date.today() - timedelta(days=NEWLY_REGISTERED_DAYS)).isoformat()
    if trial.first_posted >= since:
        return f"newly registered: first posted {trial.first_posted}"
    return f"new to this search (first posted {trial.first_posted})"


def record(state: State, digest: Digest, outcome: str, message_id: str | None = None) -> None:
    """Remember what ``digest`` reported. Call only once it was delivered (or for a baseline)."""
    current, gone = digest.to_record()
    state.record(digest.search.name, current=current, gone=gone, outcome=outcome,
                 counts=digest.counts(), message_id=message_id)
