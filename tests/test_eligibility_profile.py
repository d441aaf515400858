"""The profile contract: exactly the documented keys, checked values, drug names resolved."""

from __future__ import annotations

import math

import pytest

from trialfinder.drugclasses import resolve_drug
from trialfinder.eligibility import Profile, load_profile, profile_from_mapping
from trialfinder.exceptions import InputError

ISSUE_PROFILE = """\
age = 45
sex = "male"
ms_type = "nrspms"
edss = 6.0
years_since_onset = 15
years_since_diagnosis = 14
months_since_relapse = 60
pregnant = false
breastfeeding = false
weeks_postpartum = 3

[[treatments]]
drug = "ocrelizumab"
current = true
months_on = 36

[[treatments]]
drug = "fingolimod"
months_since_stopped = 40
"""


def test_the_issue_profile_loads(tmp_path):
    path = tmp_path / "me.toml"
    path.write_text(ISSUE_PROFILE)
    p = load_profile(path)
    assert (p.age, p.sex, p.ms_type, p.edss) == (45, "male", "nrspms", 6.0)
    assert p.courses == {"nrspms"}
    assert p.relapse_months == 60
    assert [(t.drug, t.current, t.months_on, t.months_since_stopped) for t in p.treatments] == [
        ("ocrelizumab", True, 36, None), ("fingolimod", False, None, 40)]


@pytest.mark.parametrize("raw, key", [
    ({"edss": 10.5}, "edss"),
    ({"edss": -1}, "edss"),
    ({"edss": 6.2}, "edss"),
    ({"ms_type": "smoldering"}, "ms_type"),
    ({"favourite_colour": "blue"}, "favourite_colour"),
    ({"months_since_relapse": -3}, "months_since_relapse"),
    ({"age": 45.5}, "age"),
    ({"sex": "other"}, "sex"),
    ({"pregnant": "no"}, "pregnant"),
    ({"treatments": [{"drug": "ocrelizumab", "months_on": -1}]}, "months_on"),
    ({"treatments": [{"drug": "ocrelizumab", "dose": 600}]}, "dose"),
    ({"treatments": [{"current": True}]}, "drug"),
    ({"never_relapsed": True, "months_since_relapse": 4}, "never_relapsed"),
])
def test_bad_values_name_the_key(raw, key):
    with pytest.raises(InputError, match=key):
        profile_from_mapping(raw)


def test_negative_months_say_so():
    with pytest.raises(InputError, match="months_since_relapse must not be negative"):
        profile_from_mapping({"months_since_relapse": -3})


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(InputError, match="cannot read profile"):
        load_profile(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("age = = 4")
    with pytest.raises(InputError, match="not valid TOML"):
        load_profile(bad)


def test_cli_values_override_the_file():
    p = profile_from_mapping({"edss": 4.0, "age": 40}).merged(edss=6.5, age=None)
    assert (p.edss, p.age) == (6.5, 40)
    with pytest.raises(InputError, match="edss"):
        Profile().merged(edss=11.0)


def test_never_relapsed_is_infinitely_long_ago():
    assert math.isinf(profile_from_mapping({"never_relapsed": True}).relapse_months)
    assert Profile().relapse_months is None


@pytest.mark.parametrize("name, inns", [
    ("Ocrevus", ("ocrelizumab",)),
    ("KESIMPTA", ("ofatumumab",)),
    ("Briumvi", ("ublituximab",)),
    ("Gilenya", ("fingolimod",)),
    ("Tecfidera", ("dimethyl fumarate",)),
    ("Aubagio", ("teriflunomide",)),
    ("Lemtrada", ("alemtuzumab",)),
    ("Tysabri", ("natalizumab",)),
    ("Mavenclad", ("cladribine",)),
    ("Copaxone", ("glatiramer acetate",)),
    ("Avonex", ("interferon beta-1a",)),
    ("FTY720", ("fingolimod",)),
    ("SAR442168", ("tolebrutinib",)),
    ("anti-CD20", ("ocrelizumab", "ofatumumab", "ublituximab", "rituximab")),
    ("vitamin D", ("vitamin d",)),
])
def test_drug_names_resolve_through_the_class_data(name, inns):
    assert resolve_drug(name) == inns
