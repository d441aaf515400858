"""Parsing study records: real recordings, missing fields, hostile text."""

from __future__ import annotations

import pytest

from trialfinder.exceptions import RecordError
from trialfinder.models import Trial, normalise_nct_id

from .conftest import load_fixture


def test_real_portland_recording_parses():
    page = load_fixture("real/Ledgeworth-Studios_UnivabioComp__search_ms_portland.json")
    trials = [Trial.from_api(s) for s in page["studies"]]
    assert [t.nct_id for t in trials] == [
        "NCT06441617", "NCT06408259", "NCT06433752", "NCT06655896", "NCT04047628",
    ]
    cafe = trials[0]
    assert cafe.acronym == "CAFE-MS"
    assert cafe.phases == ("NA",)
    assert cafe.min_age == "22 Years" and cafe.max_age == ""
    assert cafe.first_posted == "2024-06-04" and cafe.last_updated == "2026-04-15"
    assert cafe.sites[0].lat == 38.89511 and cafe.sites[0].status == "RECRUITING"
    assert sum(len(t.sites) for t in trials) == 246
    assert trials[2].phases == ()  # observational: no phases key at all


def test_real_age_and_sex_shapes_parse():
    page = load_fixture("real/Ledgeworth-Studios_UnivabioComp__age_and_sex_shapes.json")
    trials = [Trial.from_api(s) for s in page["studies"]]
    assert len(trials) == 11
    assert {t.sex for t in trials} >= {"ALL", "MALE", "FEMALE"}
    assert any(t.min_age.endswith(("Months", "Weeks", "Days", "Hours")) for t in trials)
    assert any(not t.max_age for t in trials)


def test_real_full_record_parses():
    trial = Trial.from_api(load_fixture("real/hkm30_hve-drug-target-scout-agent__ct_single_valid.body.json"))
    assert trial.nct_id == "NCT04280705"
    assert trial.eligibility_criteria.startswith("Inclusion Criteria")
    assert trial.sites and all(s.status is None for s in trial.sites)


def test_projected_record_with_few_fields():
    page = load_fixture("real/hkm30_hve-drug-target-scout-agent__search-page1.json")
    trial = Trial.from_api(page["studies"][0])
    assert trial.nct_id == "NCT04006847"
    assert trial.phases == ("PHASE1", "PHASE2")
    assert [i.name for i in trial.interventions] == ["Eicosapentaenoic Acid", "Tyrosine kinase inhibitor"]
    assert trial.sites == ()


@pytest.mark.parametrize(
    "record",
    [{}, {"protocolSection": {}}, {"protocolSection": {"identificationModule": {"nctId": 5}}},
     {"protocolSection": {"identificationModule": {"nctId": "NCT1"}}}, [], "x"],
)
def test_record_without_valid_id_is_a_record_error(record):
    with pytest.raises(RecordError):
        Trial.from_api(record)


def test_wrong_types_are_ignored_not_crashed():
    record = {"protocolSection": {
        "identificationModule": {"nctId": "NCT01234567", "briefTitle": ["x"]},
        "designModule": {"phases": "PHASE3"},
        "contactsLocationsModule": {"locations": [
            {"geoPoint": {"lat": "42", "lon": -71}}, "junk", {"geoPoint": {"lat": 95.0, "lon": 0.0}},
            {"geoPoint": {"lat": True, "lon": 1.0}}, {"city": "Boston", "geoPoint": {"lat": 42.0, "lon": -71.0}},
        ]},
    }}
    trial = Trial.from_api(record)
    assert trial.title == "" and trial.phases == ()
    assert [(s.lat, s.lon) for s in trial.sites] == [(None, None), (None, None), (None, None), (42.0, -71.0)]


def test_hostile_text_is_cleaned_at_the_boundary():
    trial = Trial.from_api(load_fixture("constructed/hostile_study.json")["studies"][0])
    for text in (trial.title, trial.official_title, trial.acronym, trial.sponsor, *trial.conditions):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "RED" in trial.title and "pwned" not in trial.title


@pytest.mark.parametrize("text, expected", [("nct04458051", "NCT04458051"), ("NCT4458051", "NCT04458051"),
                                            (" NCT04458051 ", "NCT04458051")])
def test_normalise_nct_id(text, expected):
    assert normalise_nct_id(text) == expected


@pytest.mark.parametrize("text", ["NCT", "NCT0", "NCT123456789", "04458051", "NCT0445805a", "NCT04458051;"])
def test_normalise_nct_id_rejects(text):
    with pytest.raises(ValueError):
        normalise_nct_id(text)
