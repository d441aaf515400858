"""Output formats: table, JSON, CSV, Markdown, and the one-trial page."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from trialfinder.drugclasses import find_drug_class
from trialfinder.finder import SearchResult
from trialfinder.models import Trial
from trialfinder.places import Place
from trialfinder.query import Query, Radius
from trialfinder.ranking import match, rank
from trialfinder.render import (
    CSV_COLUMNS,
    csv_cell,
    md_escape,
    phase_label,
    render_search,
    trial_data,
    trial_text,
)

from .conftest import load_fixture

BOSTON = Place(name="Boston, Massachusetts, United States", lat=42.3601, lon=-71.0589, kind="city")


def result_for(page_name: str, **query) -> SearchResult:
    q = Query(place=BOSTON, drug_class=find_drug_class("btk"), **query)
    trials = [Trial.from_api(s) for s in load_fixture(page_name)["studies"]]
    return SearchResult(q, rank([m for m in (match(t, q) for t in trials) if m], "distance"))


@pytest.fixture
def btk_result():
    return result_for("constructed/search_btk_boston.json")


@pytest.fixture
def hostile_result():
    return result_for("constructed/hostile_study.json")


def test_table_rows_and_footer(btk_result):
    text = render_search(btk_result, "table")
    lines = text.splitlines()
    assert lines[0].split() == ["NCT", "ID", "Trial", "Phase", "Status", "Distance", "Nearest", "recruiting",
                                "site", "Facility", "Sponsor"]
    body = [line for line in lines[2:5]]
    assert body[0].startswith("NCT04458051  PERSEUS")
    assert re.search(r"Boston, MA \(\+1 more\) +Massachusetts General Hospital", body[0])
    assert "0.5 mi" in body[0] and "Sanofi" in body[0]
    assert body[1].startswith("NCT07299019") and "2.8 mi" in body[1]
    assert body[2].startswith("NCT05147220  REMODEL-1") and "80 mi" in body[2]
    assert ("3 recruiting multiple sclerosis trials of BTK inhibitors within 100 mi of "
            "Boston, Massachusetts, United States.") in text


def test_table_distance_in_the_users_unit():
    result = result_for("constructed/search_btk_boston.json", radius=Radius(200, "km"))
    assert "129 km" in render_search(result, "table")


def test_zero_results_say_so_and_suggest_widening():
    q = Query(place=BOSTON, phases=("PHASE4",))
    text = render_search(SearchResult(q, []), "table")
    assert text.startswith("No recruiting phase 4 multiple sclerosis trials within 100 mi of Boston")
    assert "a larger --radius (e.g. 200mi)" in text and "--status open" in text and "without --phase" in text


def test_json_has_every_documented_field(btk_result):
    data = json.loads(render_search(btk_result, "json"))
    assert [d["nct_id"] for d in data] == ["NCT04458051", "NCT07299019", "NCT05147220"]
    required = {"nct_id", "title", "acronym", "status", "phases", "study_type", "conditions",
                "interventions", "sponsor", "min_age", "max_age", "sex", "first_posted",
                "last_updated", "url", "matched_drugs", "sites_in_radius", "nearest_site"}
    assert required <= set(data[0])
    assert set(data[0]["nearest_site"]) == {"facility", "city", "state", "zip", "country", "status",
                                            "lat", "lon", "distance_mi", "distance_km"}
    assert data[2]["nearest_site"]["city"] == "Springfield"


def test_json_without_near_has_null_nearest_site():
    q = Query()
    trials = [Trial.from_api(s) for s in load_fixture("constructed/search_btk_boston.json")["studies"]]
    data = json.loads(render_search(SearchResult(q, [match(t, q) for t in trials]), "json"))
    assert all(d["nearest_site"] is None and d["sites_in_radius"] is None for d in data)


def test_csv_columns_and_values(btk_result):
    rows = list(csv.DictReader(io.StringIO(render_search(btk_result, "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["nct_id"] == "NCT04458051"
    assert rows[0]["distance_mi"] == "0.5"
    assert rows[0]["nearest_lon"] == "-71.069"  # our own numbers are not "neutralised"
    assert rows[0]["matched_drugs"] == "tolebrutinib"


def test_csv_neutralises_formulas_from_the_api(hostile_result):
    row = next(csv.DictReader(io.StringIO(render_search(hostile_result, "csv"))))
    assert row["sponsor"].startswith("'=HYPERLINK")
    assert row["conditions"] == "Multiple Sclerosis; +cmd|' /C calc'!A0"  # starts harmlessly
    assert row["interventions"].startswith("'-2+3")
    assert row["nearest_city"] == "<b>Boston</b>"  # CSV is data: HTML is escaped only in HTML
    assert row["nearest_facility"] == "'@SUM(1+1)"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\t=1", "\r=1"])
def test_csv_cell_neutralises_every_formula_prefix(value):
    assert csv_cell(value).startswith("'")


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_no_terminal_escapes_reach_output(hostile_result, fmt):
    text = render_search(hostile_result, fmt)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text


def test_markdown_links_and_escapes(btk_result, hostile_result):
    text = render_search(btk_result, "markdown")
    assert "| [NCT04458051](https://clinicaltrials.gov/study/NCT04458051) | PERSEUS" in text
    hostile = render_search(hostile_result, "markdown")
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    assert "<b>" not in hostile


def test_md_escape():
    assert md_escape("a|b *c* [d](e) <i>") == r"a\|b \*c\* \[d\](e) &lt;i&gt;"


def test_phase_label():
    assert phase_label(("PHASE2", "PHASE3")) == "2/3"
    assert phase_label(("NA",)) == "n/a"
    assert phase_label(()) == "-"


def test_trial_page_lists_eligibility_contacts_and_sites_nearest_first():
    trial = Trial.from_api(load_fixture("constructed/study_NCT04458051.json"))
    text = trial_text(trial, BOSTON)
    assert text.startswith("NCT04458051  PERSEUS\n")
    assert "Inclusion Criteria" in text and "Exclusion Criteria" in text
    assert "trials@example.org" in text
    sites = text.split("Sites (5, nearest first from Boston, Massachusetts, United States)")[1]
    order = [name for name in ("Boston", "Worcester", "Providence", "Warsaw", "Lyon") if name in sites]
    assert sorted(order, key=sites.index) == ["Boston", "Worcester", "Providence", "Warsaw", "Lyon"]
    assert "Withdrawn" in sites


def test_trial_data_has_sites_with_distance():
    trial = Trial.from_api(load_fixture("constructed/study_NCT04458051.json"))
    data = json.loads(json.dumps(trial_data(trial, BOSTON)))
    assert data["sites"][0]["city"] == "Boston" and data["sites"][0]["distance_mi"] == 0.5
    assert data["sites"][-1]["distance_mi"] is None  # Lyon has no coordinates
    assert data["eligibility_criteria"].startswith("Inclusion Criteria")
    assert data["central_contacts"][0]["email"] == "trials@example.org"
