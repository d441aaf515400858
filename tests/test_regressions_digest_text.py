"""What a digest says about each trial, word for word: snapshots, the one-line reason, what
changed, why a trial is gone, and looking trials up by ID (written to kill mutants that
survived the digest tests; issue 11)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from trialfinder import digest
from trialfinder.client import Client
from trialfinder.config import SavedSearch
from trialfinder.models import Trial
from trialfinder.places import Place
from trialfinder.query import Query, Radius
from trialfinder.ranking import match

from .e2e_support import PERSEUS, REMODEL_1, find, protocol, world
from .fakeapi import FakeCTGov

BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")
MGH = "massachusetts general hospital|boston|massachusetts|united states"
PROVIDENCE = "investigational site number : 8400002|providence|rhode island|united states"


def perseus(edit=None) -> Trial:
    studies = world()
    if edit:
        edit(protocol(studies, PERSEUS))
    return Trial.from_api(find(studies, PERSEUS))


def snap(trial: Trial, query: Query | None = None) -> dict[str, Any]:
    return digest.snapshot(match(trial, query or Query(place=BOSTON, drug_class=None)))


def test_snapshot_records_what_the_digest_compares():
    from trialfinder.drugclasses import find_drug_class

    s = snap(perseus(), Query(place=BOSTON, drug_class=find_drug_class("btk")))
    assert s == {
        "nct_id": PERSEUS, "title": s["title"], "acronym": "PERSEUS", "status": "RECRUITING",
        "phases": ["PHASE3"], "min_age": "18 Years", "max_age": "55 Years", "sex": "ALL",
        "first_posted": "2020-07-08", "matched_drugs": ["tolebrutinib"],
        "nearest": {"key": MGH, "label": "Massachusetts General Hospital, Boston, MA", "distance_mi": 0.5,
                    "status": "RECRUITING"},
        "sites": [
            {"key": MGH, "label": "Massachusetts General Hospital, Boston, MA", "distance_mi": 0.5,
             "status": "RECRUITING"},
            {"key": PROVIDENCE, "label": "Investigational Site Number : 8400002, Providence, RI",
             "distance_mi": 41.2, "status": "RECRUITING"},
        ],
    }
    assert s["title"].startswith("Tolebrutinib (SAR442168) Versus Placebo")


def test_site_keys_ignore_case_and_join_every_part():
    trial = perseus(lambda p: p["contactsLocationsModule"]["locations"][1].update(
        facility="MASSACHUSETTS General Hospital", city="BOSTON"))
    assert snap(trial)["nearest"]["key"] == MGH


def test_why_names_drugs_phase_status_and_the_nearest_site_in_the_users_unit():
    s = snap(perseus())
    s["matched_drugs"] = ["tolebrutinib", "SAR442168"]
    assert digest.why(s, "mi", "100 mi") == (
        "tolebrutinib, SAR442168 · phase 3 · Recruiting · nearest site: Massachusetts General Hospital, "
        "Boston, MA, 0.5 mi (2 within 100 mi)")
    assert digest.why(s, "km", "160 km") == (
        "tolebrutinib, SAR442168 · phase 3 · Recruiting · nearest site: Massachusetts General Hospital, "
        "Boston, MA, 0.8 km (2 within 160 km)")
    assert digest.why({"status": "ACTIVE_NOT_RECRUITING"}, "mi", "100 mi") == "phase - · Active not recruiting"
    assert digest.why({}, "mi", "100 mi") == "phase - · Unknown"


def test_every_kind_of_change_is_one_exact_line_in_the_users_unit():
    before = snap(perseus())

    def edit(p):
        p["identificationModule"]["briefTitle"] = "A new title"
        p["statusModule"]["overallStatus"] = "ENROLLING_BY_INVITATION"
        p["eligibilityModule"].update(minimumAge="16 Years", maximumAge=None, sex="FEMALE")
        locations = p["contactsLocationsModule"]["locations"]
        locations[1]["status"] = "WITHDRAWN"  # Boston
        locations.append({"facility": "Lahey Clinic", "city": "Burlington", "state": "Massachusetts",
                          "country": "United States", "status": "RECRUITING",
                          "geoPoint": {"lat": 42.4848, "lon": -71.2006}})

    trial = perseus(edit)
    after = snap(trial, Query(place=BOSTON, statuses=("RECRUITING", "ENROLLING_BY_INVITATION")))
    assert digest.changes(before, after, trial, "km") == [
        "status: Recruiting → Enrolling by invitation",
        "nearest recruiting site is now Lahey Clinic, Burlington, MA (18 km); "
        "was Massachusetts General Hospital, Boston, MA (0.8 km)",
        "new site in range: Lahey Clinic, Burlington, MA (18 km, recruiting)",
        "site no longer open to you: Massachusetts General Hospital, Boston, MA (now withdrawn)",
        "title: 'Tolebrutinib (SAR442168) Versus Placebo in Primary Progressive Multiple Sclerosis (PERSEUS)'"
        " → 'A new title'",
        "age limits: 18 Years to 55 Years → 16 Years to no maximum",
        "sex: ALL → FEMALE",
    ]
    assert digest.changes(before, copy.deepcopy(before), trial, "mi") == []


def test_a_site_that_disappeared_and_unstated_values_are_described():
    before = snap(perseus())
    before.update(sex="", min_age="")

    def edit(p):
        del p["contactsLocationsModule"]["locations"][2]  # Providence is no longer listed at all
        p["eligibilityModule"].update(sex="MALE", maximumAge=None)

    trial = perseus(edit)
    after = snap(trial)
    assert digest.changes(before, after, trial, "mi") == [
        "site no longer open to you: Investigational Site Number : 8400002, Providence, RI (no longer listed)",
        "age limits: no minimum to 55 Years → 18 Years to no maximum",
        "sex: not stated → MALE",
    ]
    assert digest.changes(after, dict(after, sex=""), trial, "mi") == ["sex: MALE → not stated"]


def test_an_old_snapshot_without_every_key_still_compares():
    # A snapshot written by an older trialfinder may lack keys added since.
    trial = perseus()
    after = snap(trial)
    lines = digest.changes({"status": "RECRUITING"}, after, trial, "mi")
    assert lines[0].startswith("new site in range: Massachusetts General Hospital, Boston, MA (0.5 mi")
    assert "status" not in " ".join(lines)
    assert digest.changes({}, after, trial, "mi")[0] == "status: Unknown → Recruiting"


# -- why a trial is gone --------------------------------------------------------------------


def saved(**query: Any) -> SavedSearch:
    return SavedSearch("s", Query(place=BOSTON, **query), ("a@example.org",))


def test_gone_reasons_say_what_happened_to_the_trial():
    previous = snap(perseus())
    assert digest.gone_reasons(previous, None, saved()) == ["no longer found on ClinicalTrials.gov"]

    def stop(p):
        p["statusModule"].update(overallStatus="SUSPENDED", whyStopped="Drug supply")

    assert digest.gone_reasons(previous, perseus(stop), saved()) == ["now suspended (why stopped: Drug supply)"]
    assert digest.gone_reasons(previous, perseus(lambda p: p["statusModule"].update(
        overallStatus="COMPLETED")), saved()) == ["now completed"]

    def close(p):
        for location in p["contactsLocationsModule"]["locations"]:
            location["status"] = "COMPLETED"

    assert digest.gone_reasons(previous, perseus(close), saved()) == [
        "the Massachusetts General Hospital, Boston, MA site is now completed",
        "the Investigational Site Number : 8400002, Providence, RI site is now completed",
    ]
    assert digest.gone_reasons({}, perseus(close), saved(radius=Radius(50, "km"))) == [
        "no recruiting site within 50 km any more"]
    assert digest.gone_reasons(previous, perseus(), saved()) == [
        "no longer matches the search terms (condition, drug or other filters)"]


# -- looking trials up by ID ----------------------------------------------------------------


@pytest.fixture(scope="module")
def stand_in():
    with FakeCTGov([]) as api:
        yield api


def test_lookup_asks_in_chunks_with_why_stopped_and_skips_what_it_cannot_read(stand_in, monkeypatch):
    studies = world()
    protocol(studies, PERSEUS)["identificationModule"]["nctId"] = "nct4458051"  # unreadable here
    stand_in.set_studies(studies)
    stand_in.reset_log()
    monkeypatch.setattr(digest, "LOOKUP_CHUNK", 2)
    ids = [PERSEUS, REMODEL_1, "NCT07299019", "NCT00000001"]
    found = digest.lookup(Client(stand_in.url), ids)
    # PERSEUS comes first in its chunk's answer: the record after it is still read.
    assert sorted(found) == [REMODEL_1, "NCT07299019"]
    assert all(isinstance(t, Trial) for t in found.values())
    assert [r.params["filter.ids"] for r in stand_in.requests] == [
        f"{PERSEUS},{REMODEL_1}", "NCT07299019,NCT00000001"]
    assert all("WhyStopped" in r.params["fields"].split(",") for r in stand_in.requests)
    assert all(r.params["fields"].startswith("NCTId,BriefTitle,") for r in stand_in.requests)


def test_a_site_without_its_own_status_is_judged_by_the_studys():
    before = snap(perseus())

    def edit(p):
        p["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
        p["contactsLocationsModule"]["locations"][1]["status"] = None  # Boston: no status of its own

    trial = perseus(edit)
    after = snap(trial, Query(place=BOSTON, statuses=("RECRUITING",)))  # Providence still recruits
    assert digest.changes(before, after, trial, "mi") == [
        "status: Recruiting → Active not recruiting",
        "nearest recruiting site is now Investigational Site Number : 8400002, Providence, RI (41 mi); "
        "was Massachusetts General Hospital, Boston, MA (0.5 mi)",
        "site no longer open to you: Massachusetts General Hospital, Boston, MA (now active not recruiting)",
    ]


def test_a_gone_trials_sites_without_status_are_judged_by_the_studys():
    previous = snap(perseus())

    def edit(p):
        for location in p["contactsLocationsModule"]["locations"]:
            location["status"] = None
        p["statusModule"]["overallStatus"] = "SUSPENDED"

    trial = perseus(edit)
    # Suspended trials are wanted, but no site lies within 0.1 mi: each site's fate is the study's.
    lines = digest.gone_reasons(previous, trial, SavedSearch(
        "s", Query(place=BOSTON, statuses=("SUSPENDED",), radius=Radius(0.1)), ()))
    assert lines == [
        "the Massachusetts General Hospital, Boston, MA site is now suspended",
        "the Investigational Site Number : 8400002, Providence, RI site is now suspended",
    ]
