"""The registry's CommonMark text as plain text for a terminal."""

from __future__ import annotations

import pytest

from trialfinder.models import Trial
from trialfinder.plaintext import to_plain_text
from trialfinder.render import trial_text

from .conftest import load_fixture
from .e2e_support import unsafe_characters
from .test_layout import BOSTON

CRITERIA = """Inclusion Criteria:

1\\. Age \\>= 18 and \\<65 years
* EDSS from 2.0 to 6.5, inclusive, at screening
  * with a nested point
* Contact ms-trial-coordinator@example-hospital.org for screening

Exclusion Criteria:

3. Pregnancy
4. Prior anti-CD20 therapy &amp; other B-cell depleting treatment
"""


def test_escapes_are_removed_and_lists_kept():
    text = to_plain_text(CRITERIA, 100)
    assert "\\" not in text
    assert "1. Age >= 18 and <65 years" in text
    assert "* EDSS from 2.0 to 6.5" in text
    assert "  * with a nested point" in text
    assert "3. Pregnancy\n4. Prior anti-CD20 therapy & other B-cell depleting treatment" in text


@pytest.mark.parametrize("width", [20, 30, 40, 60])
def test_wrapping_never_splits_a_word_or_an_address(width):
    text = to_plain_text(CRITERIA, width)
    words = CRITERIA.replace("\\", "").replace("&amp;", "&").split()
    for line in text.splitlines():
        for word in line.split():
            assert word in words or word in "*1.3.4.", (word, text)
        assert len(line) <= width or "@" in line, text  # only an address longer than the width
    assert "ms-trial-coordinator@example-hospital.org" in text.split()


def test_numbered_items_keep_their_numbers_and_indent_their_lines():
    text = to_plain_text("3. " + "word " * 30, 30)
    lines = text.splitlines()
    assert lines[0].startswith("3. word") and all(line.startswith("   word") for line in lines[1:])


def test_character_references_cannot_bring_back_escapes_or_bidi_overrides():
    text = to_plain_text("red &#27;[31mALERT&#27;[0m and &#x202E;reversed&#x202C; &#7; bell", 80)
    assert unsafe_characters(text) == set(), repr(text)
    assert "ALERT" in text and "reversed" in text


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_trial_page_fits_the_width(width):
    trial = Trial.from_api(load_fixture("constructed/study_NCT04458051.json"))
    page = trial_text(trial, BOSTON, width=width)
    assert max(len(line) for line in page.splitlines()) <= width, page
    assert "mgh-ms-trials@example.org" in page.split()
    assert "* Diagnosis of primary progressive multiple sclerosis" in page
