"""The msgspec fast path gives exactly the trials the plain JSON path gives."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialfinder.exceptions import RecordError
from trialfinder.fastparse import Study, decode_page, trial_from_study
from trialfinder.models import Trial
from trialfinder.places import Place
from trialfinder.query import Query, Radius
from trialfinder.ranking import point_filter, raw_site_filter

from .conftest import load_fixture
from .datagen import CITIES, generate_studies
from .test_properties import ALL_PATHS, BASE, json_values, mutate

BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")
QUERY = Query(place=BOSTON)


def both_ways(records: list, query: Query | None = QUERY) -> tuple[list, list, bool]:
    """(plain results, fast results, whether the fast path decoded the page).

    With a query only the sites inside its radius are kept; without one (None), every
    site, as a digest's walk keeps them.
    """
    body = json.dumps({"studies": records}).encode()
    keep = raw_site_filter(query) if query else None
    plain = [_outcome(lambda r=r: Trial.from_api(r, keep)) for r in json.loads(body)["studies"]]
    page = decode_page(body)
    cache: dict = {}
    near = point_filter(query) if query else None
    fast = [
        _outcome(lambda r=r: trial_from_study(r, near, cache, every_site=query is None) if type(r) is Study
                 else Trial.from_api(r, keep))
        for r in page["studies"]
    ]
    return plain, fast, all(type(r) is Study for r in page["studies"])


def _outcome(parse):
    try:
        return parse()
    except RecordError as exc:
        return ("RecordError", str(exc))


def test_fixture_records_take_the_fast_path_and_agree() -> None:
    studies = load_fixture("constructed/search_btk_boston.json")["studies"]
    plain, fast, typed = both_ways(studies)
    assert typed and plain == fast
    assert any(t.sites for t in fast)  # sites inside the radius were kept


def test_generated_dense_records_agree_full_and_projected() -> None:
    boston = next(c for c in CITIES if c.name == "Boston")
    studies = generate_studies(60, seed=3, dense_around=boston)
    plain, fast, typed = both_ways(studies, None)
    assert typed and plain == fast and sum(len(t.sites) for t in fast) > 60 * 20
    for radius in (5.0, 50.0, 100.0):
        query = Query(place=BOSTON, radius=Radius(radius, "mi"))
        plain, fast, typed = both_ways(studies, query)  # full records: sites with contacts
        assert typed and plain == fast
        for s in studies:  # the search projection: no site contacts
            for loc in s["protocolSection"]["contactsLocationsModule"].get("locations", []):
                loc.pop("contacts", None)
        plain, fast, typed = both_ways(studies, query)
        assert typed and plain == fast
        assert sum(len(t.sites) for t in fast) > (100 if radius == 100 else 0)


def test_the_same_location_is_one_site_unless_it_differs() -> None:
    record = copy.deepcopy(BASE)
    locations = record["protocolSection"]["contactsLocationsModule"]["locations"]
    near = [loc for loc in locations if "geoPoint" in loc and raw_site_filter(QUERY)(loc)]
    assert near
    for loc in locations:
        loc.pop("contacts", None)
    other = copy.deepcopy(record)
    other["protocolSection"]["identificationModule"]["nctId"] = "NCT99999998"
    changed = copy.deepcopy(record)
    changed["protocolSection"]["identificationModule"]["nctId"] = "NCT99999997"
    for loc in changed["protocolSection"]["contactsLocationsModule"]["locations"]:
        loc["status"] = "WITHDRAWN"
    plain, fast, typed = both_ways([record, other, changed])
    assert typed and plain == fast
    first, second, third = fast
    assert all(a is b for a, b in zip(first.sites, second.sites, strict=True))
    assert all(s.status == "WITHDRAWN" for s in third.sites)


def test_a_location_that_does_not_fit_makes_the_page_fall_back() -> None:
    record = copy.deepcopy(BASE)
    record["protocolSection"]["contactsLocationsModule"]["locations"][0]["geoPoint"]["lat"] = "42.3"
    plain, fast, typed = both_ways([BASE, record])
    assert not typed and plain == fast


def test_a_body_that_is_not_json_raises_value_error() -> None:
    for body in (b"<html>", b'{"studies": [', b"\xff\xfe"):
        try:
            decode_page(body)
        except ValueError:
            continue
        raise AssertionError(f"{body!r} decoded")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_PATHS), json_values, st.booleans())
def test_damaged_records_give_the_same_trial_or_error_both_ways(path, replacement, delete):
    record = mutate(copy.deepcopy(BASE), path, replacement, delete)
    for query in (QUERY, None):
        try:
            plain, fast, _ = both_ways([record, BASE], query)
        except ValueError:  # NaN or infinity: not JSON, never sent by a server
            return
        assert plain == fast


def test_search_through_the_stand_in_equals_the_plain_json_path() -> None:
    from trialfinder.client import Client
    from trialfinder.finder import search

    from .fakeapi import FakeCTGov

    class PlainClient(Client):
        """The client as it was: every page through response.json()."""

        def iter_studies(self, params, max_pages=10_000, **options):
            options.pop("decode", None)
            return super().iter_studies(params, max_pages, **options)

    class CountingClient(Client):
        pages: list = []

        def page(self, params, token=None, *, decode=None):
            got = super().page(params, token, decode=decode)
            self.pages.append({type(s).__name__ for s in got.studies})
            return got

    boston = next(c for c in CITIES if c.name == "Boston")
    studies = generate_studies(1_050, seed=5, dense_around=boston)  # two pages
    query = Query(place=BOSTON, condition="", statuses=("RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING"))
    with FakeCTGov(studies) as api:
        with CountingClient(api.url) as client:
            fast = search(client, query)
        with PlainClient(api.url) as client:
            plain = search(client, query)
    assert CountingClient.pages == [{"Study"}, {"Study"}]
    assert fast.fetched == plain.fetched > 1000
    assert len(fast.matches) > 300 and fast.matches == plain.matches
