"""The nearest-recruiting-site rule, on the constructed BTK records near Boston."""

from __future__ import annotations

import pytest

from trialfinder.drugclasses import find_drug_class
from trialfinder.models import Trial
from trialfinder.places import Place
from trialfinder.query import Query, Radius
from trialfinder.ranking import haversine_mi, match, rank

from .conftest import load_fixture

BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")
OPEN = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION")


@pytest.fixture
def trials():
    page = load_fixture("constructed/search_btk_boston.json")
    return {t.nct_id: t for t in (Trial.from_api(s) for s in page["studies"])}


def results(trials, **query):
    q = Query(place=BOSTON, drug_class=find_drug_class("btk"), **query)
    return rank([m for m in (match(t, q) for t in trials.values()) if m], "distance")


def test_haversine_known_distance():
    # Boston to New York City, about 190 miles as the crow flies.
    assert haversine_mi(42.3601, -71.0589, 40.7128, -74.0060) == pytest.approx(190.2, abs=0.5)
    assert haversine_mi(10, 20, 10, 20) == 0


def test_ranked_by_nearest_recruiting_site(trials):
    ranked = results(trials)
    assert [m.trial.nct_id for m in ranked] == ["NCT04458051", "NCT07299019", "NCT05147220"]
    assert [round(m.nearest.distance_mi, 1) for m in ranked] == [0.5, 2.8, 80.3]


def test_far_away_first_site_is_not_the_nearest(trials):
    perseus = trials["NCT04458051"]
    assert perseus.sites[0].city == "Warsaw"
    found = match(perseus, Query(place=BOSTON))
    assert found.nearest.site.facility == "Massachusetts General Hospital"


def test_withdrawn_nearby_site_does_not_count(trials):
    # REMODEL-2's only site near Boston is withdrawn; the study says recruiting.
    assert trials["NCT05156281"].status == "RECRUITING"
    assert match(trials["NCT05156281"], Query(place=BOSTON)) is None
    # Withdrawn Worcester is inside the radius but not counted for PERSEUS.
    perseus = match(trials["NCT04458051"], Query(place=BOSTON))
    assert [n.site.city for n in perseus.nearby] == ["Boston", "Providence"]


def test_site_without_status_counts_with_the_overall_status(trials):
    remodel1 = match(trials["NCT05147220"], Query(place=BOSTON))
    assert remodel1.nearest.site.city == "Springfield"
    assert remodel1.nearest.site.status is None
    assert remodel1.nearest.status == "RECRUITING"
    # ...and does not count when the study's own status is not wanted.
    assert match(trials["NCT05147220"], Query(place=BOSTON, statuses=("NOT_YET_RECRUITING",))) is None


def test_site_without_coordinates_is_skipped(trials):
    houston_has_no_geo = [s for s in trials["NCT07299019"].sites if s.lat is None]
    assert houston_has_no_geo
    found = match(trials["NCT07299019"], Query(place=BOSTON))
    assert len(found.nearby) == 1


def test_not_yet_recruiting_site_needs_open_status(trials):
    assert "NCT07067463" not in [m.trial.nct_id for m in results(trials)]
    ranked = results(trials, statuses=OPEN)
    assert [m.trial.nct_id for m in ranked] == ["NCT04458051", "NCT07299019", "NCT07067463", "NCT05147220"]


def test_radius_bounds_the_sites(trials):
    ranked = results(trials, radius=Radius(50, "km"))
    assert [m.trial.nct_id for m in ranked] == ["NCT04458051", "NCT07299019"]
    assert ranked[0].nearby[0].distance_km == pytest.approx(0.5 * 1.609344, abs=0.1)
    # PERSEUS's Providence site (41 mi = 66 km) lies between 50 km and 50 mi: it does not count.
    assert [n.site.city for n in ranked[0].nearby] == ["Boston"]
    assert ranked[0].as_dict()["sites_in_radius"] == 1
    assert [n.site.city for n in results(trials, radius=Radius(50, "mi"))[0].nearby] == ["Boston", "Providence"]


def test_sites_in_radius_and_matched_drugs(trials):
    ranked = {m.trial.nct_id: m for m in results(trials)}
    assert len(ranked["NCT04458051"].nearby) == 2
    assert ranked["NCT04458051"].matched_drugs == ("tolebrutinib",)
    assert ranked["NCT05147220"].matched_drugs == ("remibrutinib",)
    assert ranked["NCT07299019"].matched_drugs == ("orelabrutinib",)


def test_json_shape_of_a_match(trials):
    data = results(trials)[0].as_dict()
    assert data["nearest_site"] == {
        "facility": "Massachusetts General Hospital", "city": "Boston", "state": "Massachusetts",
        "zip": "02114", "country": "United States", "status": "RECRUITING", "lat": 42.3626,
        "lon": -71.069, "distance_mi": 0.5, "distance_km": 0.9,
    }
    assert data["sites_in_radius"] == 2
    assert data["url"] == "https://clinicaltrials.gov/study/NCT04458051"


def test_without_a_place_everything_matches_and_sorts_by_update(trials):
    q = Query()
    ranked = rank([match(t, q) for t in trials.values()], "updated")
    dates = [m.trial.last_updated for m in ranked]
    assert dates == sorted(dates, reverse=True)
    assert all(m.nearest is None for m in ranked)


@pytest.mark.parametrize("geo, kept", [
    ({"lat": 42.3601 + 99.9 / 69.0940, "lon": -71.0589}, True),   # 99.9 mi due north
    ({"lat": 42.3601 + 100.1 / 69.0940, "lon": -71.0589}, False),  # 100.1 mi due north
    ({"lat": 42.3601, "lon": -71.0589 + 1.9}, True),                # ~97 mi due east
    ({"lat": 42.3601, "lon": -71.0589 + 2.0}, False),               # ~102 mi due east
    ({"lat": float("nan"), "lon": -71.0}, False), ({"lat": float("inf"), "lon": -71.0}, False),
    ({"lat": True, "lon": -71.0}, False), ({"lat": "42.36", "lon": -71.0}, False),
    ({"lat": 42.36}, False), (None, False), ("42.36,-71.06", False),
])
def test_raw_site_filter_agrees_with_the_radius(geo, kept):
    from trialfinder.ranking import raw_site_filter

    keep = raw_site_filter(Query(place=BOSTON))
    assert keep({"geoPoint": geo}) is kept
    assert raw_site_filter(Query())({"geoPoint": {"lat": 42.36, "lon": -71.06}}) is False
