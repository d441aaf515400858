"""Rendering results as a table, JSON, CSV or Markdown. Knows nothing of click.

API text was already cleaned of terminal escapes when the models were built;
here CSV cells are neutralised and Markdown cells escaped.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import layout
from .finder import SearchResult
from .jsonindent import dumps_indented
from .layout import Column, Plan, cut_words, fit, two_line_titles
from .models import Site, Trial
from .plaintext import to_plain_text
from .plaintext import wrap as plain_wrap
from .query import KM_PER_MILE, MAX_RADIUS_MI, STATUS_GROUPS, Query, Radius
from .ranking import NearbySite, haversine_mi, site_status
from .text import neutralise_csv, shorten

FORMATS = ("table", "json", "csv", "markdown")
CSV_COLUMNS = (
    "nct_id", "title", "acronym", "status", "phases", "study_type", "conditions",
    "interventions", "sponsor", "min_age", "max_age", "sex", "first_posted", "last_updated",
    "url", "matched_drugs", "sites_in_radius", "nearest_facility", "nearest_city",
    "nearest_state", "nearest_zip", "nearest_country", "nearest_status", "nearest_lat",
    "nearest_lon", "distance_mi", "distance_km",
)


# -- small labels ---------------------------------------------------------


def status_label(status: str) -> str:
    """``'NOT_YET_RECRUITING'`` -> ``'Not yet recruiting'``."""
    return status.replace("_", " ").capitalize() if status else "Unknown"


def phase_label(phases: Iterable[str]) -> str:
    """``('PHASE2', 'PHASE3')`` -> ``'2/3'``; ``('NA',)`` -> ``'n/a'``; none -> ``'-'``."""
    labels = [
        "n/a" if p == "NA" else "early 1" if p == "EARLY_PHASE1" else p.removeprefix("PHASE")
        for p in phases
    ]
    return "/".join(labels) or "-"


def distance_label(miles: float | None, unit: str = "mi") -> str:
    if miles is None:  # a region search has no distances
        return "-"
    value = miles if unit == "mi" else miles * KM_PER_MILE
    return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"


US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR",
    "Pennsylvania": "PA", "Puerto Rico": "PR", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}


def site_label(site: Site) -> str:
    """``'Massachusetts General Hospital, Boston, MA'`` style, without empty parts."""
    parts = [site.facility, site.city]
    if site.country and site.country != "United States":
        parts.append(site.country)
    elif site.state:
        parts.append(US_STATES.get(site.state, site.state))
    return ", ".join(p for p in parts if p)


# -- search results ---------------------------------------------------------


def render_search(result: SearchResult, fmt: str, width: int | None = None) -> str:
    """The whole stdout text for a search in ``fmt`` (one of FORMATS).

    A table fits in ``width`` characters (``None``: every column at full width).
    """
    if fmt == "json":
        return "".join(iter_search_json(result))
    if fmt == "csv":
        return search_csv(result)
    if fmt == "markdown":
        return search_markdown(result)
    return search_table(result, width)


def iter_search_json(result: SearchResult, batch: int = 64_000) -> Iterator[str]:
    """The JSON output of a search in pieces of about ``batch`` characters, one trial's
    document built at a time: exactly ``json.dumps(documents, indent=2) + "\\n"``, without
    holding every document or the whole text (10,000 assessed trials are ~50 MB of text)."""
    matches = (*result.matches, *result.hidden)
    if not matches:
        yield "[]\n"
        return
    pending = ["["]
    size = 0
    for i, m in enumerate(matches):
        text = dumps_indented(_with_eligibility(m.as_dict(result.near), m, result), level=1)
        pending.append(("\n  " if i == 0 else ",\n  ") + text)
        size += len(text)
        if size >= batch:
            yield "".join(pending)
            pending, size = [], 0
    pending.append("\n]\n")
    yield "".join(pending)


def _unit(result: SearchResult) -> str:
    return result.query.radius.unit


def site_heading(statuses: Iterable[str]) -> str:
    """The heading of the nearest-site column, true to the statuses searched for."""
    wanted = set(statuses)
    if wanted == {"RECRUITING"}:
        return "Nearest recruiting site"
    if wanted and wanted <= set(STATUS_GROUPS["open"]):
        return "Nearest open site"
    return "Nearest site"


def _region_heading(statuses: Iterable[str], region: str) -> str:
    """``'Recruiting sites in Massachusetts'``, ``'Open sites in France'``."""
    kind = site_heading(statuses).removeprefix("Nearest ").removesuffix("site").strip()
    return f"{kind.capitalize()} sites in {region}" if kind else f"Sites in {region}"


_SHORT_SITE_STATUS = {
    "NOT_YET_RECRUITING": "not yet", "ENROLLING_BY_INVITATION": "by invitation",
    "ACTIVE_NOT_RECRUITING": "not recruiting",
}


def _site_parts(nearby: NearbySite, count: int) -> tuple[str, str, str, str]:
    """City and state; the site's own status when not recruiting, long and short; how many more."""
    site = nearby.site
    where = [site.city]
    if site.country and site.country != "United States":
        where.append(site.country)
    elif site.state:
        where.append(US_STATES.get(site.state, site.state))
    place = ", ".join(p for p in where if p) or site.facility or "?"
    status = "" if nearby.status == "RECRUITING" else status_label(nearby.status).lower()
    short = _SHORT_SITE_STATUS.get(nearby.status, status)
    more = f" (+{count - 1} more)" if count > 1 else ""
    return place, f" ({status})" if status else "", f" ({short})" if short else "", more


def _cut_sites(parts: list[tuple[str, str, str, str]]) -> Callable[[list[str], int], list[str]]:
    """Narrow site cells: drop "(+N more)", then move the site's status note to a second
    line (a withdrawn site never loses its "(withdrawn)"); the city is cut last."""
    def cut(cells: list[str], width: int) -> list[str]:
        out = []
        for cell, (place, status, short, more) in zip(cells, parts, strict=True):
            for text in (cell, place + status + more, place + status, place + short,
                         f"{place}\n{status.strip()}", f"{place}\n{short.strip()}"):
                if max(len(line) for line in text.split("\n")) <= width:
                    out.append(text)
                    break
            else:
                out.append("\n".join(cut_words(p, width) for p in (place, short.strip()) if p))
        return out
    return cut


# What to give up, in order, when the table is wider than the terminal: the sponsor and
# the facility name first; the distance, city, status and phase are what people decide by.
SEARCH_PLAN: Plan = (
    ("drop", "sponsor"), ("shrink", "facility", 24), ("shrink", "trial", 40), ("drop", "facility"),
    ("shrink", "site", 22), ("shrink", "trial", 30), ("shrink", "status", 10), ("shrink", "trial", 22),
    ("shrink", "site", 20), ("shrink", "trial", 16), ("shrink", "site", 14), ("shrink", "trial", 10),
    ("drop", "updated"),
)


def search_columns(result: SearchResult, markdown: bool = False) -> list[Column]:
    """The table's columns at full width (:mod:`trialfinder.layout` narrows them)."""
    esc = md_escape if markdown else (lambda s: s)
    matches = result.matches
    trials = [m.trial for m in matches]
    titles = [esc(t.short_title) for t in trials]
    columns = [
        Column("nct", "NCT ID", [f"[{t.nct_id}]({t.url})" if markdown else t.nct_id for t in trials]),
        Column("trial", "Trial", titles, cut=lambda cells, w: two_line_titles(cells, w)),
        Column("phase", "Phase", [phase_label(t.phases) for t in trials]),
        Column("status", "Status", [status_label(t.status) for t in trials], wrap=True),
    ]
    region = result.query.region
    if region is not None:  # no distances: the qualifying sites in the region
        parts = [_site_parts(m.nearest, len(m.nearby)) if m.nearest else ("", "", "", "") for m in matches]
        columns += [
            Column("site", _region_heading(result.query.statuses, region.prose_name),
                   [esc(place + status + more) for place, status, _, more in parts],
                   cut=None if markdown else _cut_sites(parts),
                   floor=min(max((len(p[0]) for p in parts), default=1), 20)),
            Column("facility", "Facility", [esc(m.nearest.site.facility) if m.nearest else "" for m in matches]),
        ]
    elif result.near:
        parts = [_site_parts(m.nearest, len(m.nearby)) if m.nearest else ("", "", "", "") for m in matches]
        unit = _unit(result)
        columns += [
            Column("distance", "Distance",
                   [distance_label(m.nearest.distance_mi, unit) if m.nearest else "" for m in matches]),
            Column("site", site_heading(result.query.statuses),
                   [esc(place + status + more) for place, status, _, more in parts],
                   cut=None if markdown else _cut_sites(parts),
                   floor=min(max((len(p[0]) for p in parts), default=1), 20)),
            Column("facility", "Facility", [esc(m.nearest.site.facility) if m.nearest else "" for m in matches]),
        ]
    else:
        columns.append(Column("updated", "Updated", [t.last_updated for t in trials]))
    columns.append(Column("sponsor", "Sponsor", [esc(t.sponsor) for t in trials]))
    if result.eligibility:  # with a profile: the pre-screen, kept however narrow the terminal
        columns.append(Column("fit", "Fit", [esc(fit_cell(result, m)) for m in matches]))
    return columns


def footer(result: SearchResult) -> list[str]:
    """What was searched, how many matched, and what to widen when nothing did."""
    q = result.query
    n = len(result.matches)
    if n == 0 and result.hidden:
        return [f"No {q.describe()} that your profile fits."] + result.notes() + eligibility_footer(result)
    if n == 0:
        lines = [f"No {q.describe()}."]
        tips = widen_tips(q)
        if tips:
            lines.append("Try " + ", or ".join(tips) + ".")
        return lines + result.notes()
    if result.truncated:
        which = {"distance": "nearest", "updated": "most recently updated",
                 "sites": "top"}.get(q.effective_sort, "most recently posted")
        if result.total is not None:
            lines = [f"Showing the {which} {n:,} of {result.total:,} {q.describe()}."]
        else:  # the walk stopped early, so the total is not known
            lines = [f"Showing the {which} {q.describe(n)}; more match."]
    else:
        lines = [f"{q.describe(n)}."]
    if q.region is not None and q.effective_sort == "sites":
        lines.append(
            f"A region search: no distances. Ranked by the number of sites in "
            f"{q.region.prose_name} whose own status matches, most first, then by NCT ID."
        )
    elif q.region is not None:
        lines.append(f"A region search: no distances; only sites in {q.region.prose_name} "
                     "whose own status matches are counted.")
    elif result.near:
        lines.append(
            "Distances are straight-line to each site's registered coordinates; "
            "only sites whose own status matches are counted."
        )
    if q.include_off_condition and q.condition_text.strip():
        lines.append(f"Conditions not checked (--include-off-condition): some of these trials may "
                     f"not be about {q.condition_text.strip()}.")
    return lines + result.notes() + eligibility_footer(result)


def widen_tips(q: Query) -> list[str]:
    """What would actually widen a search that found nothing: never what it already did."""
    tips = []
    if q.place is not None and q.radius.miles < MAX_RADIUS_MI:
        unit = q.radius.unit
        limit = MAX_RADIUS_MI if unit == "mi" else MAX_RADIUS_MI * KM_PER_MILE
        wider = Radius(min(q.radius.value * 2, math.floor(limit)), unit)
        tips.append(f"a larger --radius (e.g. {wider.api()})")
    if q.region is not None and q.region.kind == "state":
        tips.append(f"the whole country ('{q.region.country_code}')")
    missing = [s for s in STATUS_GROUPS["open"] if s not in q.statuses]
    if q.statuses and missing:
        words = [status_label(s).lower() for s in missing]
        adds = ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]
        tips.append(f"--status open (adds {adds})")
    used = [o for o, on in (("--phase", q.phases), ("--age", q.age is not None), ("--sex", q.sex),
                            ("--term", q.term.strip())) if on]
    if used:
        tips.append("without " + ", ".join(used))
    if q.drug_class or q.interventions:
        tips.append("without the drug filter")
    return tips


def search_table(result: SearchResult, width: int | None = None) -> str:
    columns = search_columns(result)
    text = layout.render(fit(columns, width, SEARCH_PLAN)) if result.matches else ""
    notes = footer(result)
    if width is not None:
        notes = [wrap(line, width) for line in notes]
    return (text + "\n\n" if text else "") + "\n".join(notes) + "\n"


def wrap(text: str, width: int, indent: str = "", first: str | None = None) -> str:
    """``text`` wrapped at ``width``, never splitting a word or an e-mail address."""
    return "\n".join(plain_wrap(text, width, indent if first is None else first, indent))


def search_markdown(result: SearchResult) -> str:
    columns = search_columns(result, markdown=True)
    text = layout.render(columns, "github") if result.matches else ""
    notes = "\n".join(md_escape(line) for line in footer(result))
    return (text + "\n\n" if text else "") + notes + "\n"


def search_csv(result: SearchResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = CSV_COLUMNS + (("fit", "eligibility") if result.eligibility else ())
    writer.writerow(columns)
    for m in (*result.matches, *result.hidden):
        data = m.as_dict(result.near)
        nearest = data.pop("nearest_site") or {}
        row = dict(data)
        row["interventions"] = [i["name"] for i in data["interventions"]]
        for key in ("facility", "city", "state", "zip", "country", "status", "lat", "lon"):
            row[f"nearest_{key}"] = nearest.get(key)
        row["distance_mi"] = nearest.get("distance_mi")
        row["distance_km"] = nearest.get("distance_km")
        if result.eligibility:
            row["fit"] = fit_cell(result, m)
            row["eligibility"] = result.eligibility[m.trial.nct_id].verdict
        writer.writerow([csv_cell(row.get(col)) for col in columns])
    return out.getvalue()


def fit_cell(result: SearchResult, m: Any) -> str:
    """The Fit column: ``'✓ fits so far'``, ``'? 2 to ask'`` or ``'✗ EDSS ≤ 5.5'``."""
    from .eligibility.render import fit_label

    assessment = result.eligibility.get(m.trial.nct_id)
    return shorten(fit_label(assessment), 30) if assessment is not None else ""


def _with_eligibility(data: dict[str, Any], m: Any, result: SearchResult) -> dict[str, Any]:
    assessment = result.eligibility.get(m.trial.nct_id)
    if assessment is not None:
        data["eligibility"] = assessment.as_dict()
    return data


def eligibility_footer(result: SearchResult) -> list[str]:
    """With a profile: what the Fit column means, and how many trials were hidden and why."""
    if not result.eligibility:
        return []
    from .eligibility.results import hidden_note

    lines = ["Fit: a pre-screen of each trial's criteria against your profile; discuss it with your "
             "neurologist and the study team ('trialfinder show NCT... --profile FILE' for the checklist)."]
    note = hidden_note(result)
    return lines + ([note] if note else [])


def csv_cell(value: Any) -> str:
    """A CSV cell: lists joined with ``'; '``, API strings neutralised against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    return neutralise_csv(str(value))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md_escape(text: str) -> str:
    """Escape Markdown syntax and HTML so API text renders as text."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


# -- one trial ----------------------------------------------------------------


def trial_sites(trial: Trial, place: Any = None) -> list[tuple[Site, float | None]]:
    """Every site with its distance from ``place`` (nearest first), or in registry order."""
    if place is None:
        return [(s, None) for s in trial.sites]
    with_distance = [
        (s, haversine_mi(place.lat, place.lon, s.lat, s.lon) if s.lat is not None and s.lon is not None else None)
        for s in trial.sites
    ]
    return sorted(with_distance, key=lambda p: (p[1] is None, p[1] or 0.0))


def trial_data(trial: Trial, place: Any = None) -> dict[str, Any]:
    """Everything about one trial as JSON-ready data; sites nearest first from ``place``."""
    data = trial.as_dict()
    data.update(
        official_title=trial.official_title or None,
        healthy_volunteers=trial.healthy_volunteers,
        why_stopped=trial.why_stopped or None,
        summary=trial.summary or None,
        eligibility_criteria=trial.eligibility_criteria or None,
        central_contacts=[c.as_dict() for c in trial.central_contacts],
        sites=[
            dict(s.as_dict(), status=site_status(s, trial) or None, registered_status=s.status,
                 distance_mi=None if d is None else round(d, 1),
                 distance_km=None if d is None else round(d * KM_PER_MILE, 1))
            for s, d in trial_sites(trial, place)
        ],
    )
    return data


def trial_text(trial: Trial, place: Any = None, unit: str = "mi", width: int = 100) -> str:
    """A readable page about one trial, wrapped at ``width`` columns."""
    width = max(width, 40)
    out: list[str] = []
    heading = trial.nct_id + (f"  {trial.acronym}" if trial.acronym else "")
    out += [heading, "=" * len(heading), wrap(trial.title, width)]
    if trial.official_title and trial.official_title != trial.title:
        out.append(wrap(f"Official title: {trial.official_title}", width))
    out.append("")
    facts = [
        ("Status", status_label(trial.status) + (f" (why stopped: {trial.why_stopped})" if trial.why_stopped else "")),
        ("Phase", phase_label(trial.phases)),
        ("Study type", status_label(trial.study_type)),
        ("Sponsor", trial.sponsor),
        ("Conditions", "; ".join(trial.conditions)),
        ("Interventions", "; ".join(
            i.name + (f" ({', '.join(i.other_names)})" if i.other_names else "") for i in trial.interventions
        )),
        ("Ages", age_range(trial.min_age, trial.max_age)),
        ("Sex", (trial.sex or "not stated").lower()),
        ("Healthy volunteers", {True: "yes", False: "no", None: "not stated"}[trial.healthy_volunteers]),
        ("First posted", trial.first_posted),
        ("Last updated", trial.last_updated),
        ("Link", trial.url),
    ]
    for label, value in facts:
        if value:
            out.append(wrap(value, width, " " * 20, f"{label + ':':<20}"))
    if trial.summary:
        out += ["", "Summary", "-------", to_plain_text(trial.summary, width)]
    if trial.eligibility_criteria:
        out += ["", "Eligibility criteria", "--------------------", to_plain_text(trial.eligibility_criteria, width)]
    if trial.central_contacts:
        out += ["", "Contacts", "--------"]
        out += [wrap(" · ".join(p for p in (c.name, c.phone, c.email) if p), width, "  ")
                for c in trial.central_contacts]
    sites = trial_sites(trial, place)
    if sites:
        order = f"nearest first from {place.name}" if place is not None else "in registry order"
        heading = wrap(f"Sites ({len(sites)}, {order})", width)
        out += ["", heading, "-" * max(map(len, heading.splitlines()))]
        out.append(layout.render(fit(site_columns(trial, sites, place is not None, unit), width, SITE_PLAN)))
    return "\n".join(out) + "\n"


# A site's contact keeps its e-mail address whole; the facility and place wrap first.
SITE_PLAN: Plan = (
    ("shrink", "facility", 30), ("shrink", "status", 10), ("shrink", "contact", 1),
    ("shrink", "place", 16), ("shrink", "facility", 16), ("shrink", "place", 14),
    ("shrink", "facility", 1), ("shrink", "place", 1),
)


def site_columns(trial: Trial, sites: list[tuple[Site, float | None]], near: bool, unit: str) -> list[Column]:
    """The columns of the sites table on the one-trial page; every column wraps, none cuts."""
    contacts = [next((c for c in s.contacts if c.phone or c.email), None) for s, _ in sites]
    columns = [
        Column("status", "Status", [status_label(site_status(s, trial)) for s, _ in sites], wrap=True),
        Column("facility", "Facility", [s.facility for s, _ in sites], wrap=True),
        Column("place", "Place", [", ".join(p for p in (s.city, s.state, s.country) if p) for s, _ in sites],
               wrap=True),
        Column("contact", "Contact", [" ".join(p for p in (c.phone, c.email) if p) if c else "" for c in contacts],
               wrap=True),
    ]
    if near:
        columns.insert(0, Column("distance", "Distance",
                                 ["?" if d is None else distance_label(d, unit) for _, d in sites]))
    return columns


def age_range(min_age: str, max_age: str) -> str:
    if min_age and max_age:
        return f"{min_age} to {max_age}"
    if min_age:
        return f"{min_age} and older"
    if max_age:
        return f"up to {max_age}"
    return "no limits stated"
