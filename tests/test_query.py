"""Query building: user values to the API's own parameter names and Essie syntax."""

from __future__ import annotations

import re

import pytest

from trialfinder import essie
from trialfinder.drugclasses import find_drug_class
from trialfinder.exceptions import InputError
from trialfinder.places import Place
from trialfinder.query import Query, Radius, build_query, parse_phases, parse_radius, parse_statuses

BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")
GEO_REGEX = re.compile(r"^distance\(-?\d+(\.\d+)?,-?\d+(\.\d+)?,\d+(\.\d+)?(km|mi)?\)$")


@pytest.mark.parametrize(
    "text, value, unit",
    [("100mi", 100, "mi"), ("150km", 150, "km"), ("50", 50, "mi"), (" 12.5 miles ", 12.5, "mi"),
     ("80 KM", 80, "km"), ("3 kilometres", 3, "km")],
)
def test_parse_radius(text, value, unit):
    assert parse_radius(text) == Radius(value, unit)


@pytest.mark.parametrize("text", ["0", "0km", "-5mi", "far", "10 parsecs", "1e3", "", "50000mi", "30000km"])
def test_parse_radius_rejects(text):
    with pytest.raises(InputError):
        parse_radius(text)


def test_radius_in_km_converts_to_miles_for_ranking():
    assert parse_radius("160.9344km").miles == pytest.approx(100)


def test_statuses_lowercase_dashes_and_open():
    assert parse_statuses(["recruiting", "not-yet-recruiting"]) == ("RECRUITING", "NOT_YET_RECRUITING")
    assert parse_statuses(["open"]) == ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION")
    assert parse_statuses(["open", "recruiting"]) == parse_statuses(["open"])
    assert parse_statuses(["recruiting,active-not-recruiting"]) == ("RECRUITING", "ACTIVE_NOT_RECRUITING")
    assert parse_statuses(["any"]) == ()


def test_unknown_status_lists_choices():
    with pytest.raises(InputError, match="unknown status 'recruting'.*not-yet-recruiting"):
        parse_statuses(["recruting"])


def test_phases():
    assert parse_phases(["2", "phase3"]) == ("PHASE2", "PHASE3")
    assert parse_phases(["2/3"]) == ("PHASE2", "PHASE3")
    assert parse_phases(["early-1", "na"]) == ("EARLY_PHASE1", "NA")
    with pytest.raises(InputError, match="unknown phase '7'"):
        parse_phases(["7"])


def test_default_query_is_recruiting_ms():
    assert Query().params() == {
        "query.cond": "multiple sclerosis",
        "filter.overallStatus": "RECRUITING",
        "sort": "LastUpdatePostDate:desc",
    }


def test_full_query_parameters():
    query = Query(
        drug_class=find_drug_class("btki"),
        interventions=("ocrelizumab",),
        term="smoldering",
        statuses=("RECRUITING", "NOT_YET_RECRUITING"),
        phases=("PHASE2", "PHASE3"),
        age=45,
        sex="female",
        place=BOSTON,
        radius=Radius(150, "km"),
    )
    params = query.params()
    assert params["query.cond"] == "multiple sclerosis"
    assert params["query.intr"].startswith('"tolebrutinib" OR "SAR442168" OR "PRN2246" OR "evobrutinib"')
    assert params["query.intr"].endswith('"rilzabrutinib" OR "PRN1008" OR "ocrelizumab"')
    assert params["query.term"] == "smoldering"
    assert params["filter.overallStatus"] == "RECRUITING,NOT_YET_RECRUITING"
    assert params["filter.geo"] == "distance(42.3601,-71.0589,150km)"
    assert GEO_REGEX.match(params["filter.geo"])
    assert params["filter.advanced"] == (
        "AREA[Phase](PHASE2 OR PHASE3)"
        " AND (AREA[MinimumAge]RANGE[MIN, 45 years] OR AREA[MinimumAge]MISSING)"
        " AND (AREA[MaximumAge]RANGE[45 years, MAX] OR AREA[MaximumAge]MISSING)"
        ' AND (AREA[Sex]FEMALE OR AREA[Sex]"ALL" OR AREA[Sex]MISSING)'
    )
    assert "sort" not in params  # distance ranking is done here, not by the API
    assert "aggFilters" not in params


@pytest.mark.parametrize("lat, lon", [(1e-7, -1e-7), (-33.8688, 151.2093), (89.99999999, 179.5)])
def test_geo_filter_always_matches_the_api_regex(lat, lon):
    place = Place(name="x", lat=lat, lon=lon, kind="coordinates")
    params = Query(place=place, radius=Radius(0.5)).params()
    assert GEO_REGEX.match(params["filter.geo"]), params["filter.geo"]
    assert params["filter.geo"].endswith("0.5mi)")


def test_empty_condition_sends_no_condition():
    assert "query.cond" not in Query(condition="").params()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("multiple sclerosis", "multiple sclerosis"),
        ("MS [relapsing", "MS relapsing"),
        ('tolebrutinib" OR ALL', "tolebrutinib or all"),
        ("AREA[Phase]PHASE3) OR (x", "area Phase PHASE3 or x"),
        ("back\\pain", "back pain"),
    ],
)
def test_plain_words_neutralise_essie(text, expected):
    assert essie.plain_words(text) == expected


def test_intervention_phrases_are_quoted_and_deduplicated():
    assert essie.any_of(["GDC-0853", 'evil" OR ALL', "gdc-0853", "  "]) == '"GDC-0853" OR "evil or all"'


@pytest.mark.parametrize("field", ["condition", "term"])
def test_user_text_never_reaches_the_api_with_metacharacters(field):
    params = Query(**{field: 'a [b] (c "d\\ AREA[x]MISSING'}).params()
    for value in params.values():
        if value.startswith("AREA") or value in ("RECRUITING", "LastUpdatePostDate:desc"):
            continue
        assert not set('[]()"\\') & set(value), value
        assert "MISSING" not in value


def test_query_validation():
    with pytest.raises(InputError):
        Query(age=200)
    with pytest.raises(InputError):
        Query(sex="other")
    with pytest.raises(InputError):
        Query(limit=0)


def test_describe():
    query = Query(drug_class=find_drug_class("btk"), place=BOSTON, radius=Radius(150))
    assert query.describe() == "recruiting multiple sclerosis trials of BTK inhibitors within 150 mi of Boston"


@pytest.mark.parametrize("option, kwargs", [
    ("--term", {"term": "()"}), ("--intervention", {"interventions": ["[]", "x"]}),
    ("--condition", {"condition": '"'}),
])
def test_text_that_cleans_to_nothing_is_refused_not_dropped(option, kwargs):
    from trialfinder.query import build_query

    with pytest.raises(InputError, match=f"{option} .* has no words to search for"):
        build_query(**kwargs)


def test_text_of_only_nct_ids_becomes_filter_ids_and_keeps_the_filters():
    from trialfinder.query import nct_ids_in

    assert nct_ids_in("NCT04458051") == ("NCT04458051",)
    assert nct_ids_in(" nct4458051, NCT05147220 ") == ("NCT04458051", "NCT05147220")
    assert nct_ids_in("NCT04458051 tolebrutinib") == ()
    params = build_query(term="NCT04458051", phases=["3"], statuses=["open"]).params()
    assert params["filter.ids"] == "NCT04458051" and "query.term" not in params
    assert params["filter.advanced"] == "AREA[Phase](PHASE3)"
    assert params["query.cond"] == "multiple sclerosis"
    params = build_query(interventions=["NCT04458051"]).params()
    assert params["filter.ids"] == "NCT04458051" and "query.intr" not in params


def test_nct_ids_in_two_texts_must_share_one():
    params = build_query(condition="NCT04458051, NCT05147220", term="NCT05147220").params()
    assert params["filter.ids"] == "NCT05147220" and "query.cond" not in params
    with pytest.raises(InputError, match="have none in common"):
        build_query(condition="NCT04458051", term="NCT05147220")
