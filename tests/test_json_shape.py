"""JSON output: a missing value is null, and search and show agree on shapes."""

from __future__ import annotations

import json

from trialfinder.models import Trial
from trialfinder.query import KM_PER_MILE
from trialfinder.render import render_search, trial_data

from .conftest import load_fixture
from .test_layout import BOSTON, result


def test_missing_values_are_null_not_empty_strings():
    data = json.loads(render_search(result(()), "json"))
    orela = next(t for t in data if t["nct_id"] == "NCT07299019")
    assert orela["acronym"] is None
    assert any(t["max_age"] is None for t in data)
    for trial in data:
        assert "" not in trial.values(), trial
        assert "" not in trial["nearest_site"].values(), trial


def test_interventions_have_the_same_shape_in_search_and_show():
    searched = json.loads(render_search(result(), "json"))
    perseus = next(t for t in searched if t["nct_id"] == "NCT04458051")
    shown = trial_data(Trial.from_api(load_fixture("constructed/study_NCT04458051.json")), BOSTON)
    assert perseus["interventions"] and shown["interventions"]
    assert [set(i) for i in perseus["interventions"]] == [set(i) for i in shown["interventions"]]
    assert set(perseus["interventions"][0]) == {"name", "type", "other_names"}
    assert perseus["interventions"][0]["other_names"] == ["SAR442168"]


def test_show_json_has_distance_km_beside_distance_mi():
    trial = Trial.from_api(load_fixture("constructed/study_NCT04458051.json"))
    sites = trial_data(trial, BOSTON)["sites"]
    measured = [s for s in sites if s["distance_mi"] is not None]
    assert measured
    for site in measured:
        assert abs(site["distance_km"] - site["distance_mi"] * KM_PER_MILE) < 0.2
    assert all(s["distance_km"] is None for s in trial_data(trial)["sites"])
    assert all("" not in s.values() for s in sites)
