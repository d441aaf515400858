"""The keyword prefilter of ``ms_type_mentions`` finds exactly what trying every MS-type pattern finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from trialfinder.eligibility.extract import MS_PATTERNS, _mentions, ms_type_mentions

# Pieces of the patterns' own words, in any case and with any separator, plus noise.
WORDS = sorted({w for _, p, _ in MS_PATTERNS for w in re.findall(r"[A-Za-z]{2,}", p)}
               | {"SPMS", "PPMS", "RRMS", "nrSPMS", "aSPMS", "RMS", "PMS", "SP-MS", "R-MS", "CIS", "MS"})
pieces = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(str.upper),
    st.sampled_from(WORDS).map(str.lower),
    st.sampled_from([" ", "-", " (", ")", ", ", "non-", "ſ", "K", "İ", "ı"]),
    st.text(max_size=6),
)


@settings(max_examples=500)
@given(st.lists(pieces, max_size=10).map("".join))
def test_prefiltered_mentions_equal_every_pattern(text: str) -> None:
    assert ms_type_mentions(text) == _mentions(text)


def test_each_category_is_found_through_the_prefilter() -> None:
    texts = {"nrspms": "non-active SPMS", "nrprogressive": "non-relapsing forms of MS", "aspms": "aSPMS",
             "spms": "SP-MS", "ppms": "PPMS", "rrms": "RR-MS", "rms": "R-MS", "progressive": "P-MS",
             "cis": "Clinically Isolated Syndrome"}
    for key, text in texts.items():
        for variant in (text, text.upper(), text.lower(), f"Diagnosis of {text} (2017)"):
            found = ms_type_mentions(variant)
            assert found == _mentions(variant) and key in {m[3] for m in found}, variant
