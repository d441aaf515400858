"""Exact results of the text and status helpers (written to kill surviving mutants)."""

from __future__ import annotations

import pytest

from trialfinder.exceptions import InputError
from trialfinder.query import parse_statuses
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
