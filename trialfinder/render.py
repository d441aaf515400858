"""Rendering results as a table, JSON, CSV or Markdown. Knows nothing of click.

API text was already cleaned of terminal escapes when the models were built;
here CSV cells are neutralised and Markdown cells escaped.
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from collections.abc import Iterable
from typing import Any

from tabulate import tabulate

from .finder import SearchResult
from .models import Site, Trial
from .query import KM_PER_MILE
from .ranking import haversine_mi, site_status
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


def distance_label(miles: float, unit: str = "mi") -> str:
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


def render_search(result: SearchResult, fmt: str) -> str:
    """The whole stdout text for a search in ``fmt`` (one of FORMATS)."""
    if fmt == "json":
        return json.dumps([m.as_dict(result.near) for m in result.matches], indent=2) + "\n"
    if fmt == "csv":
        return search_csv(result)
    if fmt == "markdown":
        return search_markdown(result)
    return search_table(result)


def _unit(result: SearchResult) -> str:
    return result.query.radius.unit


def _rows(result: SearchResult, markdown: bool = False) -> tuple[list[str], list[list[str]]]:
    esc = md_escape if markdown else (lambda s: s)
    headers = ["NCT ID", "Trial", "Phase", "Status"]
    if result.near:
        headers += ["Nearest recruiting site", "Distance"]
    else:
        headers += ["Updated"]
    headers.append("Sponsor")
    rows = []
    for m in result.matches:
        t = m.trial
        nct = f"[{t.nct_id}]({t.url})" if markdown else t.nct_id
        row = [nct, esc(shorten(t.short_title, 40)), phase_label(t.phases), status_label(t.status)]
        if result.near and m.nearest:
            more = f" (+{len(m.nearby) - 1} more)" if len(m.nearby) > 1 else ""
            row += [esc(shorten(site_label(m.nearest.site), 44) + more),
                    distance_label(m.nearest.distance_mi, _unit(result))]
        elif result.near:
            row += ["", ""]
        else:
            row += [t.last_updated]
        row.append(esc(shorten(t.sponsor, 28)))
        rows.append(row)
    return headers, rows


def footer(result: SearchResult) -> list[str]:
    """What was searched, how many matched, and what to widen when nothing did."""
    q = result.query
    n = len(result.matches)
    if n == 0:
        lines = [f"No {q.describe()}."]
        tips = []
        if q.place is not None:
            tips.append("a larger --radius (e.g. 250mi)")
        if "NOT_YET_RECRUITING" not in q.statuses:
            tips.append("--status open (adds not yet recruiting and by invitation)")
        if q.phases or q.age is not None or q.sex or q.term:
            tips.append("fewer filters (--phase, --age, --sex, --term)")
        if q.drug_class or q.interventions:
            tips.append("no drug filter")
        if tips:
            lines.append("Try " + ", or ".join(tips) + ".")
        return lines + result.notes()
    shown = f"{n} {'trial' if n == 1 else 'trials'}"
    if result.truncated:
        shown = f"First {n} {q.effective_sort}-ranked trials (--limit)"
    lines = [f"{shown}: {q.describe()}."]
    if result.near:
        lines.append(
            "Distances are straight-line to each site's registered coordinates; "
            "only sites whose own status matches are counted."
        )
    return lines + result.notes()


def search_table(result: SearchResult) -> str:
    headers, rows = _rows(result)
    text = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True) if rows else ""
    return (text + "\n\n" if text else "") + "\n".join(footer(result)) + "\n"


def search_markdown(result: SearchResult) -> str:
    headers, rows = _rows(result, markdown=True)
    text = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) if rows else ""
    notes = "\n".join(md_escape(line) for line in footer(result))
    return (text + "\n\n" if text else "") + notes + "\n"


def search_csv(result: SearchResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in result.matches:
        data = m.as_dict(result.near)
        nearest = data.pop("nearest_site") or {}
        row = dict(data)
        for key in ("facility", "city", "state", "zip", "country", "status", "lat", "lon"):
            row[f"nearest_{key}"] = nearest.get(key)
        row["distance_mi"] = nearest.get("distance_mi")
        row["distance_km"] = nearest.get("distance_km")
        writer.writerow([csv_cell(row.get(col)) for col in CSV_COLUMNS])
    return out.getvalue()


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
        official_title=trial.official_title,
        interventions=[i.as_dict() for i in trial.interventions],
        healthy_volunteers=trial.healthy_volunteers,
        why_stopped=trial.why_stopped,
        summary=trial.summary,
        eligibility_criteria=trial.eligibility_criteria,
        central_contacts=[c.as_dict() for c in trial.central_contacts],
        sites=[
            dict(s.as_dict(), status=site_status(s, trial), registered_status=s.status,
                 distance_mi=None if d is None else round(d, 1))
            for s, d in trial_sites(trial, place)
        ],
    )
    return data


def trial_text(trial: Trial, place: Any = None, unit: str = "mi", width: int = 100) -> str:
    """A readable page about one trial."""
    out: list[str] = []
    heading = trial.nct_id + (f"  {trial.acronym}" if trial.acronym else "")
    out += [heading, "=" * len(heading), trial.title]
    if trial.official_title and trial.official_title != trial.title:
        out.append(f"Official title: {trial.official_title}")
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
            out.append(textwrap.fill(value, width, initial_indent=f"{label + ':':<20}", subsequent_indent=" " * 20))
    if trial.summary:
        out += ["", "Summary", "-------", _wrap_block(trial.summary, width)]
    if trial.eligibility_criteria:
        out += ["", "Eligibility criteria", "--------------------", _wrap_block(trial.eligibility_criteria, width)]
    if trial.central_contacts:
        out += ["", "Contacts", "--------"]
        out += [" · ".join(p for p in (c.name, c.phone, c.email) if p) for c in trial.central_contacts]
    sites = trial_sites(trial, place)
    if sites:
        order = f"nearest first from {place.name}" if place is not None else "in registry order"
        out += ["", f"Sites ({len(sites)}, {order})", "-----"]
        rows = []
        for site, distance in sites:
            row = [status_label(site_status(site, trial)), shorten(site.facility, 40),
                   shorten(", ".join(p for p in (site.city, site.state, site.country) if p), 40)]
            contact = next((c for c in site.contacts if c.phone or c.email), None)
            row.append(shorten(" ".join(p for p in (contact.phone, contact.email) if p), 40) if contact else "")
            if place is not None:
                row.insert(0, "?" if distance is None else distance_label(distance, unit))
            rows.append(row)
        headers = (["Distance"] if place is not None else []) + ["Status", "Facility", "Place", "Contact"]
        out.append(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))
    return "\n".join(out) + "\n"


def _wrap_block(text: str, width: int) -> str:
    lines = []
    for line in text.splitlines():
        stripped = line.rstrip()
        indent = re.match(r"\s*(?:[*\-]\s+|\d+\.\s+)?", stripped).group(0)  # type: ignore[union-attr]
        lines.append(textwrap.fill(stripped, width, subsequent_indent=" " * len(indent)) if stripped else "")
    return "\n".join(lines)


def age_range(min_age: str, max_age: str) -> str:
    if min_age and max_age:
        return f"{min_age} to {max_age}"
    if min_age:
        return f"{min_age} and older"
    if max_age:
        return f"up to {max_age}"
    return "no limits stated"
