"""Places people type: regions, big cities under English names, postcodes, negative coordinates.

Against the real shipped place index (a real SQLite file) and the real models.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from trialfinder.cli import cli
from trialfinder.exceptions import InputError, PlaceNotFound
from trialfinder.models import Site, Trial
from trialfinder.places import Place, resolve_location, resolve_place
from trialfinder.query import Query, build_query
from trialfinder.ranking import match, rank, raw_site_filter
from trialfinder.regions import Region

# --- regions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("MA", "state", "Massachusetts, United States"),
        ("Massachusetts", "state", "Massachusetts, United States"),
        ("massachusetts", "state", "Massachusetts, United States"),
        ("California", "state", "California, United States"),
        ("Texas", "state", "Texas, United States"),
        ("NY", "state", "New York, United States"),
        ("WA", "state", "Washington, United States"),
        ("UK", "country", "United Kingdom"),
        ("U.K.", "country", "United Kingdom"),
        ("Great Britain", "country", "United Kingdom"),
        ("US", "country", "United States"),
        ("U.S.", "country", "United States"),
        ("USA", "country", "United States"),
        ("France", "country", "France"),
        ("FR", "country", "France"),
        ("South Korea", "country", "South Korea"),
        ("Türkiye", "country", "Turkey"),
        ("England", "country", "United Kingdom"),
    ],
)
def test_regions_resolve_as_regions(text: str, kind: str, name: str) -> None:
    region = resolve_location(text)
    assert isinstance(region, Region)
    assert (region.kind, region.name) == (kind, name)
    assert region.as_dict()["kind"] == kind


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=30))
def test_any_text_is_a_place_a_region_or_input_error(text: str) -> None:
    try:
        found = resolve_location(text)
    except InputError:
        return
    if isinstance(found, Region):
        assert found.kind in ("state", "country") and found.locn().startswith("AREA[Location")
    else:
        assert -90 <= found.lat <= 90 and -180 <= found.lon <= 180


def test_a_region_is_never_a_same_named_place_abroad() -> None:
    for text in ("MA", "California", "UK", "US", "Texas", "France"):
        with pytest.raises(InputError) as caught:
            resolve_place(text)  # a point is asked for: refused, not Thailand or Maryland
        assert not isinstance(caught.value, PlaceNotFound)
        assert "not a point" in str(caught.value)


def test_ambiguous_codes_are_noted() -> None:
    georgia = resolve_location("GA")
    assert isinstance(georgia, Region) and georgia.state_code == "GA"
    assert georgia.note and "Gabon" in georgia.note
    country = resolve_location("Georgia")
    assert isinstance(country, Region) and country.kind == "state"
    assert country.note and "write 'GE'" in country.note
    assert resolve_location("GE").name == "Georgia"  # the country


def test_a_big_city_keeps_its_name_from_its_state_with_a_note() -> None:
    place = resolve_location("New York")
    assert isinstance(place, Place)
    assert place.name == "New York City, New York, United States"
    assert place.note and "use 'NY'" in place.note


def test_a_comma_makes_a_city() -> None:
    assert resolve_location("Portland, ME").name == "Portland, Maine, United States"
    assert resolve_location("Paris, Texas").name == "Paris, Texas, United States"


def test_provinces_are_refused_with_a_hint() -> None:
    with pytest.raises(InputError) as caught:
        resolve_location("Ontario")
    assert "province of Canada" in str(caught.value)
    assert "'Canada'" in str(caught.value)


def test_region_query_uses_the_location_area_not_a_radius() -> None:
    query = build_query(near="Massachusetts")
    params = query.params()
    assert params["query.locn"] == 'AREA[LocationState]"Massachusetts"'
    assert "filter.geo" not in params
    assert query.effective_sort == "sites"
    assert "with a site in Massachusetts" in query.describe()
    turkey = build_query(near="Turkey").params()["query.locn"]
    assert turkey.startswith('AREA[LocationCountry]("Turkey" OR ')
    assert '"Türkiye"' in turkey and "(" not in turkey[len("AREA[LocationCountry]("):]


def test_radius_with_a_region_is_bad_input() -> None:
    with pytest.raises(InputError, match="--radius does not apply to Massachusetts"):
        build_query(near="MA", radius="50mi")


@pytest.mark.parametrize(
    ("region", "state", "country", "inside"),
    [
        ("MA", "Massachusetts", "United States", True),
        ("MA", "massachusetts", "", True),
        ("MA", "Massachusetts", "Canada", False),
        ("Georgia", "Georgia", "United States", True),
        ("Georgia", "", "Georgia", False),  # the country is not the US state
        ("GE", "", "Georgia", True),
        ("GE", "Georgia", "United States", False),
        ("South Korea", "", "Korea, Republic of", True),
        ("South Korea", "", "Korea, Democratic People's Republic of", False),
        ("Turkey", "", "Turkey (Türkiye)", True),
        ("Turkey", "", "Türkiye", True),
        ("Czechia", "", "Czech Republic", True),
        ("Russia", "", "Russian Federation", True),
        ("UK", "", "United Kingdom", True),
        ("US", "Texas", "United States", True),
        ("US", "", "United States Minor Outlying Islands", False),
        ("Puerto Rico", "Puerto Rico", "United States", True),
        ("Puerto Rico", "", "Puerto Rico", True),
        ("France", "", "  France ", True),
        ("CG", "", "Congo, Republic of the", True),  # GeoNames: "Republic of the Congo"
        ("CG", "", "Congo, The Democratic Republic of the", False),
    ],
)
def test_sites_match_the_registrys_spellings(region: str, state: str, country: str,
                                             inside: bool) -> None:
    found = resolve_location(region)
    assert isinstance(found, Region)
    assert found.contains(state, country) is inside


def _trial(nct_id: str, *sites: tuple[str, str, str | None], status: str = "RECRUITING") -> Trial:
    return Trial(nct_id=nct_id, status=status,
                 sites=tuple(Site(state=s, country=c, status=st) for s, c, st in sites))


def test_region_search_counts_qualifying_sites_and_ranks_by_them() -> None:
    query = build_query(near="MA")
    one = _trial("NCT00000001", ("Massachusetts", "United States", "RECRUITING"),
                 ("Texas", "United States", "RECRUITING"))
    two = _trial("NCT00000002", ("Massachusetts", "United States", "RECRUITING"),
                 ("Massachusetts", "United States", None))  # no site status: the study's
    withdrawn = _trial("NCT00000003", ("Massachusetts", "United States", "WITHDRAWN"),
                       ("Illinois", "United States", "RECRUITING"))
    matches = [m for m in (match(t, query) for t in (one, two, withdrawn)) if m]
    ranked = rank(matches, query.effective_sort)
    assert [m.trial.nct_id for m in ranked] == ["NCT00000002", "NCT00000001"]
    assert [len(m.nearby) for m in ranked] == [2, 1]
    assert ranked[0].nearest is not None and ranked[0].nearest.distance_mi is None
    assert ranked[0].as_dict()["nearest_site"]["distance_mi"] is None


def test_raw_site_filter_keeps_the_regions_sites() -> None:
    keep = raw_site_filter(build_query(near="France"))
    assert keep({"city": "Lyon", "country": "France"})
    assert not keep({"city": "Boston", "state": "Massachusetts", "country": "United States"})
    assert not raw_site_filter(Query())({"country": "France"})


# --- big cities under their English names -----------------------------------------


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Cologne", "DE"), ("Munich", "DE"), ("Seville", "ES"), ("Hanover", "DE"),
        ("Florence", "IT"), ("Naples", "IT"), ("Geneva", "CH"), ("Athens", "GR"),
        ("Turin", "IT"), ("Lisbon", "PT"), ("Prague", "CZ"), ("Warsaw", "PL"),
        ("Copenhagen", "DK"), ("Gothenburg", "SE"), ("The Hague", "NL"), ("Brussels", "BE"),
        ("Zurich", "CH"), ("Venice", "IT"), ("Nuremberg", "DE"), ("Vienna", "AT"),
        ("Moscow", "RU"), ("Milan", "IT"), ("Rome", "IT"),
    ],
)
def test_big_cities_under_english_names_beat_small_namesakes(text: str, country: str) -> None:
    place = resolve_place(text)
    assert place.country_code == country, place
    assert place.population and place.population > 50_000


def test_a_big_citys_alternate_name_notes_the_small_towns() -> None:
    place = resolve_place("Cologne")
    assert place.name == "Köln, Germany"
    assert place.note and "Cologne, Italy" in place.note


def test_comparable_sizes_keep_the_primary_name() -> None:
    # Portland, Oregon is the most populous of the towns called Portland.
    assert resolve_place("Portland").name == "Portland, Oregon, United States"
    # A qualifier still chooses: Seville, Ohio is what "Seville, OH" means.
    assert resolve_place("Seville, OH").name == "Seville, Ohio, United States"


# --- postcodes ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["SW1A 1AA", "sw1a1aa", "M5V 3L9", "1012 AB", "8001", "110001"])
def test_non_us_postcodes_are_refused_saying_what_is_understood(text: str) -> None:
    with pytest.raises(InputError) as caught:
        resolve_place(text)
    assert not isinstance(caught.value, PlaceNotFound)
    assert "only US ZIP codes are understood" in str(caught.value)


# --- the command line ----------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("args", [["-33.87,151.21"], ["-33.87", "151.21"],
                                  ["-33.87,151.21", "-f", "json"], ["-f", "json", "-33.87,151.21"]])
def test_locate_negative_coordinates_as_an_argument(args: list[str]) -> None:
    result = invoke("locate", *args)
    assert result.exit_code == 0, result.output
    assert "-33.87" in result.stdout and "151.21" in result.stdout


def test_locate_still_rejects_unknown_options() -> None:
    result = invoke("locate", "--bogus")
    assert result.exit_code == 2
    assert "No such option '--bogus'" in result.stderr


def test_locate_json_reports_a_region_kind() -> None:
    result = invoke("locate", "-f", "json", "Massachusetts")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["kind"], data["state_code"]) == ("state", "MA")
    france = json.loads(invoke("locate", "France", "-f", "json").stdout)
    assert (france["kind"], france["country_code"]) == ("country", "FR")


def test_locate_a_postcode_is_exit_2() -> None:
    result = invoke("locate", "SW1A 1AA")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: 'SW1A 1AA' looks like a postcode")


def test_show_near_a_region_is_exit_2_before_any_request() -> None:
    # show sorts sites by distance from a point; the API URL here never resolves.
    result = invoke("show", "NCT04458051", "-n", "MA", "--api-url", "https://ctgov.test/api/v2")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: 'MA' is the US state Massachusetts, not a point")
