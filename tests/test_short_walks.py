"""A walk of pages that comes up short of ``totalCount`` (the data changed mid-walk)."""

from __future__ import annotations

import copy

from trialfinder.client import Client
from trialfinder.finder import search
from trialfinder.places import Place
from trialfinder.query import Query

from .conftest import API

STUDIES = f"{API}/studies"
BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")
PERSEUS, REMODEL_1, ORELA_SPMS = "NCT04458051", "NCT05147220", "NCT07299019"


def by_id(page, nct_id):
    return copy.deepcopy(next(s for s in page["studies"] if s["protocolSection"]["identificationModule"]["nctId"] == nct_id))


def test_short_twice_merges_both_walks_and_the_later_record_wins(mocked, btk_page):
    perseus, remodel, orela = (by_id(btk_page, i) for i in (PERSEUS, REMODEL_1, ORELA_SPMS))
    closed = copy.deepcopy(perseus)  # by the second walk, its sites near Boston were withdrawn
    for site in closed["protocolSection"]["contactsLocationsModule"]["locations"]:
        if site["city"] in ("Boston", "Providence"):
            site["status"] = "WITHDRAWN"
    mocked.get(STUDIES, json={"studies": [perseus, remodel], "totalCount": 4, "nextPageToken": "a"})
    mocked.get(STUDIES, json={"studies": [orela]})  # 3 of 4
    mocked.get(STUDIES, json={"studies": [closed, remodel], "totalCount": 4, "nextPageToken": "b"})
    mocked.get(STUDIES, json={"studies": []})  # 2 of 4
    result = search(Client(API), Query(place=BOSTON))
    assert sorted(m.trial.nct_id for m in result.matches) == [REMODEL_1, ORELA_SPMS]
    assert result.short is not None and (result.short.count, result.short.total) == (2, 4)
    assert result.warnings == ["the registry's data changed during the search (2 of 4 studies came back, "
                               "twice); trials may be missing: run it again later"]
    assert len(mocked.calls) == 4


def test_short_once_answers_from_the_second_walk_alone(mocked, btk_page):
    perseus, remodel, orela = (by_id(btk_page, i) for i in (PERSEUS, REMODEL_1, ORELA_SPMS))
    mocked.get(STUDIES, json={"studies": [perseus], "totalCount": 3, "nextPageToken": "a"})
    mocked.get(STUDIES, json={"studies": [orela]})  # 2 of 3
    mocked.get(STUDIES, json={"studies": [remodel, orela], "totalCount": 2})  # whole: PERSEUS is gone
    result = search(Client(API), Query(place=BOSTON))
    assert sorted(m.trial.nct_id for m in result.matches) == [REMODEL_1, ORELA_SPMS]
    assert result.short is None and result.warnings == []
