"""The nearest-recruiting-site rule where a silent regression would change who sees a trial
(issue 11): the radius unit, the radius edge, the order of sites, and stopping a walk early.

The search-level tests run against the loopback API stand-in (tests/fakeapi.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from trialfinder import client as client_module
from trialfinder.client import Client
from trialfinder.finder import search
from trialfinder.models import Trial
from trialfinder.places import Place
from trialfinder.query import KM_PER_MILE, Query, Radius
from trialfinder.ranking import haversine_mi, match, qualifying_sites, raw_site_filter

from .e2e_support import PERSEUS, REMODEL_1, nct, world

BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")
MILES_PER_DEGREE = 69.0940  # due north, as the other ranking tests measure


def site(city: str, miles_north: float, status: str | None = "RECRUITING") -> dict[str, Any]:
    """A raw API location ``miles_north`` of BOSTON."""
    return {"facility": f"{city} Clinic", "city": city, "state": "Massachusetts", "country": "United States",
            "status": status, "geoPoint": {"lat": BOSTON.lat + miles_north / MILES_PER_DEGREE, "lon": BOSTON.lon}}


def study(nct_id: str, *locations: dict[str, Any], status: str = "RECRUITING") -> dict[str, Any]:
    return {"protocolSection": {
        "identificationModule": {"nctId": nct_id, "briefTitle": f"Study {nct_id}"},
        "statusModule": {"overallStatus": status},
        "conditionsModule": {"conditions": ["Multiple Sclerosis"]},
        "contactsLocationsModule": {"locations": list(locations)},
    }}


# -- the order of sites -------------------------------------------------------------------


def test_a_nearer_site_listed_after_a_farther_one_is_the_nearest():
    # Both inside the radius, the farther one first: only sorting finds the nearest.
    record = study("NCT09100001", site("Lowell", 25), site("Salem", 3), site("Nashua", 40))
    found = match(Trial.from_api(record), Query(place=BOSTON))
    assert found.nearest.site.city == "Salem"
    assert [n.site.city for n in found.nearby] == ["Salem", "Lowell", "Nashua"]
    assert found.nearest.distance_mi == pytest.approx(3, abs=0.01)


# -- the radius unit ----------------------------------------------------------------------


def test_km_radius_counts_only_sites_inside_the_km_radius():
    # 50 km is 31.07 mi: the 40 mi site is inside 50 mi but outside 50 km.
    record = study("NCT09100002", site("Nashua", 40), site("Salem", 20))
    trial = Trial.from_api(record)
    km = match(trial, Query(place=BOSTON, radius=Radius(50, "km")))
    assert [n.site.city for n in km.nearby] == ["Salem"]
    assert km.as_dict()["sites_in_radius"] == 1
    assert km.as_dict()["nearest_site"]["distance_km"] == pytest.approx(20 * KM_PER_MILE, abs=0.1)
    mi = match(trial, Query(place=BOSTON, radius=Radius(50, "mi")))
    assert [n.site.city for n in mi.nearby] == ["Salem", "Nashua"]


def test_a_study_whose_only_open_site_lies_between_the_km_and_the_mile_radius_is_left_out():
    trial = Trial.from_api(study("NCT09100003", site("Nashua", 40), site("Salem", 5, "WITHDRAWN")))
    assert match(trial, Query(place=BOSTON, radius=Radius(50, "km"))) is None
    assert match(trial, Query(place=BOSTON, radius=Radius(50, "mi"))).nearest.site.city == "Nashua"


def test_the_raw_site_filter_reads_the_unit():
    keep = raw_site_filter(Query(place=BOSTON, radius=Radius(50, "km")))
    assert keep(site("Salem", 30)) is True  # 30 mi = 48 km
    assert keep(site("Nashua", 40)) is False  # 40 mi = 64 km


def test_search_with_a_km_radius_drops_a_site_between_km_and_miles(api):
    """REMODEL-1: a withdrawn site 11 mi out makes the registry return it for 100 km; its
    only open site (Springfield, 80 mi = 129 km) is outside 100 km but inside 100 mi."""
    api.set_studies(world())
    boston = Query(place=BOSTON, radius=Radius(100, "km"))
    for keep_sites in (False, True):  # the search's lean parse, and the digest's full one
        result = search(Client(api.url), boston, keep_sites=keep_sites)
        ids = [m.trial.nct_id for m in result.matches]
        assert REMODEL_1 not in ids
        perseus = next(m for m in result.matches if m.trial.nct_id == PERSEUS)
        # Providence (41 mi = 66 km) is inside 100 km: two sites, Boston nearest.
        assert [n.site.city for n in perseus.nearby] == ["Boston", "Providence"]
    # The stand-in does return REMODEL-1 for 100 km: it is the ranking that leaves it out.
    returned = Client(api.url).iter_studies(boston.params())
    assert REMODEL_1 in {nct(s) for s in returned}
    miles = search(Client(api.url), boston.with_(radius=Radius(100, "mi")), keep_sites=True)
    assert REMODEL_1 in [m.trial.nct_id for m in miles.matches]


# -- the radius edge ----------------------------------------------------------------------


def test_a_site_exactly_at_the_radius_is_inside():
    record = study("NCT09100004", site("Edge", 30))
    geo = record["protocolSection"]["contactsLocationsModule"]["locations"][0]["geoPoint"]
    exact = haversine_mi(BOSTON.lat, BOSTON.lon, geo["lat"], geo["lon"])
    query = Query(place=BOSTON, radius=Radius(exact))
    assert query.radius.miles == exact
    assert raw_site_filter(query)(record["protocolSection"]["contactsLocationsModule"]["locations"][0])
    trial = Trial.from_api(record)
    assert [n.site.city for n in qualifying_sites(trial, query)] == ["Edge"]
    # ...and the same site a hair outside is out.
    nudged = Query(place=BOSTON, radius=Radius(exact * (1 - 1e-12)))
    assert qualifying_sites(trial, nudged) == []
    assert not raw_site_filter(nudged)(record["protocolSection"]["contactsLocationsModule"]["locations"][0])


# -- stopping a walk early ----------------------------------------------------------------


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of two studies, so five studies make three real pages with next-page tokens."""
    monkeypatch.setattr(client_module, "PAGE_SIZE", 2)


def dated(nct_id: str, day: int) -> dict[str, Any]:
    record = study(nct_id, site("Salem", 3))
    record["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {"date": f"2026-01-{day:02d}"}
    return record


def test_sort_by_updated_with_a_limit_stops_walking_once_the_limit_is_met(api, small_pages):
    api.set_studies([dated(f"NCT0910001{i}", 10 + i) for i in range(5)])
    result = search(Client(api.url), Query(sort="updated", limit=1))
    assert [m.trial.nct_id for m in result.matches] == ["NCT09100014"]  # the newest
    assert result.truncated
    first = api.requests[0]
    assert first.params["pageSize"] == "2" and first.params["sort"] == "LastUpdatePostDate:desc"
    # The first page carried a token to a second page, which was never asked for.
    assert len(api.requests) == 1


def test_sort_by_updated_with_a_limit_walks_on_until_the_limit_is_met(api, small_pages):
    api.set_studies([dated(f"NCT0910001{i}", 10 + i) for i in range(5)])
    result = search(Client(api.url), Query(sort="updated", limit=3))
    assert [m.trial.nct_id for m in result.matches] == ["NCT09100014", "NCT09100013", "NCT09100012"]
    assert len(api.requests) == 2 and "pageToken" in api.requests[1].params
    everything = search(Client(api.url), Query(sort="updated"))
    assert len(everything.matches) == 5 and not everything.truncated


def test_distance_sort_with_a_limit_reads_every_page(api, small_pages):
    api.set_studies([study(f"NCT0910002{i}", site("Salem", 10 - i)) for i in range(5)])
    result = search(Client(api.url), Query(place=BOSTON, limit=1))
    assert [m.trial.nct_id for m in result.matches] == ["NCT09100024"]  # nearest, on the last page
    assert len(api.requests) == 3


# -- ranking orders -----------------------------------------------------------------------


def dated_match(nct_id: str, updated: str, posted: str, miles: float | None) -> Any:
    from trialfinder.ranking import Match

    record = study(nct_id, site("Salem", miles) if miles is not None else site("Nowhere", 5000))
    record["protocolSection"]["statusModule"].update(
        lastUpdatePostDateStruct={"date": updated}, studyFirstPostDateStruct={"date": posted})
    trial = Trial.from_api(record)
    found = match(trial, Query(place=BOSTON)) if miles is not None else None
    return found or Match(trial)


def test_rank_orders_by_distance_update_or_posting():
    from trialfinder.ranking import rank

    a = dated_match("NCT09100031", "2026-03-01", "2024-01-01", 30)
    b = dated_match("NCT09100032", "2026-01-01", "2025-01-01", 10)
    c = dated_match("NCT09100033", "2026-02-01", "2023-01-01", None)  # no site near: last by distance
    d = dated_match("NCT09100030", "2026-02-01", "2023-01-01", None)
    ids = lambda ms: [m.trial.nct_id for m in ms]  # noqa: E731
    assert ids(rank([a, b, c, d], "distance")) == ["NCT09100032", "NCT09100031", "NCT09100030", "NCT09100033"]
    assert ids(rank([a, b, c, d], "updated")) == ["NCT09100031", "NCT09100030", "NCT09100033", "NCT09100032"]
    assert ids(rank([a, b, c, d], "posted")) == ["NCT09100032", "NCT09100031", "NCT09100030", "NCT09100033"]
