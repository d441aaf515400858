"""One search start to finish: paging, de-duplication, limits, memory-saving site trimming."""

from __future__ import annotations

import copy

from trialfinder.client import Client
from trialfinder.finder import search
from trialfinder.places import Place
from trialfinder.query import Query

from .conftest import API

STUDIES = f"{API}/studies"
BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")


def test_matches_drop_far_sites_unless_asked_to_keep_them(mocked, btk_page):
    mocked.get(STUDIES, json=btk_page)
    mocked.get(STUDIES, json=btk_page)
    lean = search(Client(API), Query(place=BOSTON))
    full = search(Client(API), Query(place=BOSTON), keep_sites=True)
    assert [m.trial.nct_id for m in lean.matches] == [m.trial.nct_id for m in full.matches]
    assert all(m.trial.sites == () for m in lean.matches)
    assert len(full.matches[0].trial.sites) == 5
    assert lean.matches[0].nearby == full.matches[0].nearby


def test_a_study_repeated_across_pages_is_counted_once(mocked, btk_page):
    first = dict(btk_page, nextPageToken="t1", totalCount=6)
    second = {"studies": [copy.deepcopy(btk_page["studies"][0])]}
    mocked.get(STUDIES, json=first)
    mocked.get(STUDIES, json=second)
    result = search(Client(API), Query(place=BOSTON))
    assert [m.trial.nct_id for m in result.matches].count("NCT04458051") == 1
    assert result.fetched == 6


def test_limit_with_distance_sort_reads_every_page_then_cuts(mocked, btk_page):
    mocked.get(STUDIES, json=dict(btk_page, nextPageToken="t1", totalCount=5))
    mocked.get(STUDIES, json={"studies": []})
    result = search(Client(API), Query(place=BOSTON, limit=1))
    assert [m.trial.nct_id for m in result.matches] == ["NCT04458051"]
    assert result.truncated
    assert len(mocked.calls) == 2


def test_limit_with_api_sort_stops_paging_early(mocked, btk_page):
    mocked.get(STUDIES, json=dict(btk_page, nextPageToken="t1", totalCount=4000))
    mocked.assert_all_requests_are_fired = True
    result = search(Client(API), Query(sort="updated", limit=2))
    assert len(result.matches) == 2 and result.truncated
    assert len(mocked.calls) == 1  # the second page was never requested


def test_unreadable_records_are_reported_not_fatal(mocked, btk_page):
    btk_page["studies"].insert(0, {"protocolSection": {"identificationModule": {"nctId": None}}})
    mocked.get(STUDIES, json=btk_page)
    skipped = []
    result = search(Client(API), Query(place=BOSTON), on_skip=skipped.append)
    assert len(result.skipped) == 1 and skipped == result.skipped
    assert len(result.matches) == 3


def test_only_sites_inside_the_radius_are_parsed(mocked, btk_page, monkeypatch):
    from trialfinder import models

    parsed = []
    original = models.Site.from_api.__func__

    def counting(cls, data):
        parsed.append(data.get("city"))
        return original(cls, data)

    monkeypatch.setattr(models.Site, "from_api", classmethod(counting))
    mocked.get(STUDIES, json=btk_page)
    search(Client(API), Query(place=BOSTON))
    # Warsaw, Tokyo, Chicago, Beijing, and sites without coordinates are never parsed.
    assert sorted(parsed) == sorted(["Boston", "Providence", "Worcester", "Burlington", "Springfield",
                                     "Boston", "Portsmouth", "Cambridge"])
