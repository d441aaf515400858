"""Exact results of the text, status, radius and query helpers (written to kill surviving
mutants; issue 11)."""

from __future__ import annotations

import pytest

from trialfinder.exceptions import InputError
from trialfinder.query import MAX_RADIUS_MI, Radius, build_query, parse_radius, parse_statuses
from trialfinder.text import clean_line, clean_text


def test_clean_text_removes_escapes_and_controls_and_keeps_the_rest():
    assert clean_text("a\x1b[31mred\x1b[0m b\u202ec\u2066d\x07\r\ne\tf") == "ared bcd\ne\tf"
    assert clean_text("\x1b]8;;http://evil\x07link\x1b]8;;\x07") == "link"
    assert clean_text("plain text") == "plain text"


def test_clean_line_folds_lines_and_replaces_controls_by_spaces():
    assert clean_line("  a\x1b[1mb\u202ec\nd\te  ") == "ab c d e"
    assert clean_line("one  two") == "one two"


def test_status_lists_tolerate_empty_parts_and_spaces():
    assert parse_statuses(["recruiting, ,not yet recruiting|"]) == ("RECRUITING", "NOT_YET_RECRUITING")
    assert parse_statuses([",", "enrolling-by-invitation"]) == ("ENROLLING_BY_INVITATION",)


def test_an_unknown_status_lists_the_choices():
    with pytest.raises(InputError) as info:
        parse_statuses(["recruting"])
    message = str(info.value)
    assert message.startswith("unknown status 'recruting'; choose from open, recruiting, not-yet-recruiting, ")
    assert message.endswith(", withheld, unknown")


def test_clean_line_trims_plain_text_too():
    assert clean_line(" padded ") == "padded"
    assert clean_line("plain") == "plain"


@pytest.mark.parametrize("value, width, expected", [
    ("abcdef", 6, "abcdef"),        # exactly the width: untouched
    ("abcdefg", 6, "abcde…"),       # one over: cut to width - 1, then the ellipsis
    ("abc defg", 5, "abc…"),        # no space left before the ellipsis
    ("  abcdefg", 6, "  abc…"),     # leading spaces are kept
    ("abc", 1, "…"),
])
def test_shorten_cuts_to_the_width_with_an_ellipsis(value, width, expected):
    from trialfinder.text import shorten

    assert shorten(value, width) == expected
    assert len(shorten(value, width)) <= width


@pytest.mark.parametrize("text, radius", [
    ("0.5", Radius(0.5, "mi")), ("1", Radius(1.0, "mi")), ("150 KM", Radius(150.0, "km")),
    ("12500", Radius(12500.0, "mi")), (" 20 kilometres ", Radius(20.0, "km")), ("3miles", Radius(3.0, "mi")),
])
def test_radii_down_to_fractions_and_up_to_half_the_earth(text, radius):
    assert parse_radius(text) == radius
    assert MAX_RADIUS_MI == 12_500.0


@pytest.mark.parametrize("text, message", [
    ("abc", "radius 'abc' is not a distance like 100mi, 150km or 50"),
    ("0", "radius '0' must be greater than zero"),
    ("0.0km", "radius '0.0km' must be greater than zero"),
    ("12501", "radius '12501' is larger than the Earth allows (12,500 mi)"),
    ("20200km", "radius '20200km' is larger than the Earth allows (12,500 mi)"),
])
def test_bad_radii_say_what_is_wrong(text, message):
    with pytest.raises(InputError) as info:
        parse_radius(text)
    assert str(info.value) == message


def test_build_query_keeps_what_it_is_given_and_adds_nothing():
    query = build_query(sort="updated", limit=3)
    assert (query.sort, query.limit, query.term) == ("updated", 3, "")
    assert "query.term" not in query.params()
    for anything in ("", "any", "ANY", " Any "):
        assert build_query(condition=anything).condition == ""


@pytest.mark.parametrize("text, phases", [
    ("2,,3", ("PHASE2", "PHASE3")),
    ("2/3", ("PHASE2", "PHASE3")),
    ("early phase 1", ("EARLY_PHASE1",)),
    ("0", ("EARLY_PHASE1",)),
    ("n/a", ("NA",)),          # one phase, not "n" and "a"
    ("N/A, 4", ("NA", "PHASE4")),
])
def test_phases_as_people_write_them(text, phases):
    from trialfinder.query import parse_phases

    assert parse_phases([text]) == phases


def test_the_geo_filter_has_six_decimals():
    from trialfinder.places import Place
    from trialfinder.query import Query

    place = Place(name="x", lat=42.12345678, lon=-71.87654321, kind="coordinates")
    assert Query(place=place).params()["filter.geo"] == "distance(42.123457,-71.876543,100mi)"


def test_numbers_are_sent_without_exponent_trailing_zeros_or_negative_zero():
    from trialfinder.query import _number

    assert [_number(v) for v in (100.0, 12.5, 0.0, -0.0001, 1e-7, 150.1234)] == ["100", "12.5", "0", "0", "0", "150.123"]
    assert _number(-71.0589, 6) == "-71.0589"


def test_describe_says_any_status_and_joins_drugs_with_or():
    from trialfinder.query import Query

    described = Query(condition=" ", statuses=(), interventions=("ocrelizumab", "ublituximab")).describe()
    assert "any status" in described
    assert "ocrelizumab or ublituximab" in described
