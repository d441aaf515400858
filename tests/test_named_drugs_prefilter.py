"""The first-word prefilter of ``named_drugs`` finds exactly what testing every pattern finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from trialfinder.eligibility.history import _drug_needles, _drug_patterns, _first_drug, named_drugs


def every_pattern(text: str) -> tuple[str, ...]:
    text = re.sub(r"interferon[\s-]*(?:gamma|γ)", " ", text, flags=re.I)
    found: list[str] = []
    for pattern, inns in _drug_patterns():
        if pattern.search(text):
            found += [i for i in inns if i not in found]
    return tuple(found)


NAMES = sorted({p.pattern.split(")", 1)[1].split("(?!", 1)[0].replace("[\\s\\-]?", " ").replace("\\", "")
                for p, _ in _drug_patterns()})
pieces = st.one_of(
    st.sampled_from(NAMES).map(lambda n: n.upper()),
    st.sampled_from(NAMES).map(lambda n: n.replace(" ", "-")),
    st.sampled_from(NAMES).map(lambda n: n.title().replace(" ", "")),
    st.sampled_from(NAMES),
    st.text(max_size=12),
    st.sampled_from([" ", ", ", "; no prior ", "(", ")", " or ", "ſ", "K", "≤ 5.5"]),
)


def test_every_pattern_has_a_needle_unless_its_first_word_is_not_plain() -> None:
    needles = _drug_needles()
    assert len(needles) == len(_drug_patterns())
    assert sum(1 for n in needles if n) > 0.9 * len(needles)
    for (pattern, _), needle in zip(_drug_patterns(), needles, strict=True):
        if needle:
            assert needle.isascii() and needle.isalnum() and needle in pattern.pattern.lower()


@settings(max_examples=400)
@given(st.lists(pieces, max_size=8).map("".join))
def test_prefiltered_named_drugs_equal_every_pattern(text: str) -> None:
    assert named_drugs(text) == every_pattern(text)


@settings(max_examples=400)
@given(st.lists(pieces, max_size=8).map("".join))
def test_prefiltered_first_drug_equals_every_pattern(text: str) -> None:
    first = min((m.start() for p, _ in _drug_patterns() if (m := p.search(text))), default=0)
    assert _first_drug(text) == first


def test_names_are_found_in_any_case_and_separator() -> None:
    # ſ and the Kelvin sign K match s and k under IGNORECASE, though lower() keeps them.
    for text in ("Prior OCRELIZUMAB", "treated with Ocrevus within 12 months", "no prior BTK-inhibitors",
                 "prior ſiponimod", "prior \u212aesimpta", "anti-CD20/ocrelizumab", "xOcrevus; Ocrevus",
                 "no interferon gamma, but interferon beta-1a", "prior interferons", "no BTKis", "BG00012",
                 "no BTKinhibitors", "prior BTKi or Betaseron"):
        assert named_drugs(text) and named_drugs(text) == every_pattern(text)
