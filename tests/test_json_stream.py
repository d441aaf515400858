"""The search JSON written a piece at a time is exactly the one-piece ``json.dumps`` text."""

from __future__ import annotations

import json

import pytest

from trialfinder.eligibility import Profile
from trialfinder.eligibility.results import prescreen
from trialfinder.finder import SearchResult
from trialfinder.models import Trial
from trialfinder.places import Place
from trialfinder.query import Query
from trialfinder.ranking import match, rank
from trialfinder.render import iter_search_json, render_search

from .conftest import load_fixture
from .datagen import generate_studies

BOSTON = Place(name="Boston, Massachusetts, United States", lat=42.3601, lon=-71.0589, kind="city")


def one_piece(result: SearchResult) -> str:
    docs = []
    for m in (*result.matches, *result.hidden):
        doc = m.as_dict(result.near)
        if m.trial.nct_id in result.eligibility:
            doc["eligibility"] = result.eligibility[m.trial.nct_id].as_dict()
        docs.append(doc)
    return json.dumps(docs, indent=2) + "\n"


def result_of(studies: list[dict], profile: Profile | None, hide: bool = False) -> SearchResult:
    q = Query(place=BOSTON)
    trials = [Trial.from_api(s) for s in studies]
    result = SearchResult(q, rank([m for m in (match(t, q) for t in trials) if m], "distance"))
    if profile is not None:
        prescreen(result, profile, hide_excluded=hide)
    return result


@pytest.mark.parametrize("profile", [None, Profile(ms_type="nrspms", edss=6.0), Profile(ms_type="rrms")])
@pytest.mark.parametrize("hide", [False, True])
def test_pieces_equal_one_piece_on_generated_and_hostile_records(profile, hide):
    studies = generate_studies(60, seed=3) + load_fixture("constructed/hostile_study.json")["studies"]
    result = result_of(studies, profile, hide)
    assert len(result.matches) + len(result.hidden) > 10
    expected = one_piece(result)
    n = len(result.matches) + len(result.hidden)
    for batch in (1, 3_000, 64_000):
        pieces = list(iter_search_json(result, batch=batch))
        assert "".join(pieces) == expected
        if batch == 1:
            assert len(pieces) == n + 1  # one trial a piece, then the closing bracket
        elif batch == 64_000:
            assert len(pieces) < n
    assert render_search(result, "json") == expected


def test_no_trials_is_an_empty_list():
    result = result_of([], None)
    assert list(iter_search_json(result)) == ["[]\n"] and render_search(result, "json") == one_piece(result)
