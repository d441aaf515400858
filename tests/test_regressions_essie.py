"""Operator words never reach Essie as operators, even glued to punctuation (issues 8 and 11).

The registry reads an upper-case ``NOT``, ``AND``, ``OR`` or ``ALL`` as an operator
wherever punctuation separates it from the next word: ``query.cond=NOT,`` returns
the whole registry. trialfinder lower-cases every such word, wherever it stands.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trialfinder import essie
from trialfinder.query import Query

OPERATORS = ("NOT", "AND", "OR", "ALL")
# What Essie could read as a word: a run of letters between any other characters.
WORDS = re.compile(r"[^\W\d_]+")


def operator_tokens(text: str) -> list[str]:
    """Upper-case operator words in ``text``, however they are glued to their neighbours."""
    return [w for w in WORDS.findall(text) + re.findall(r"[A-Za-z]+", text) if w in OPERATORS]


@pytest.mark.parametrize("text, expected", [
    ("AML,ALL", "AML,all"),
    ("NOT,", "not,"),
    ("cladribine,OR,rituximab", "cladribine,or,rituximab"),
    ("a/AND/b", "a/and/b"),
    ("x;NOT;y", "x;not;y"),
    ("OR-1", "or-1"),
    ("'ALL'", "'all'"),
    ("NOT.", "not."),
    ("NOTE ORAL ALLERGY ANDROGEN", "NOTE ORAL ALLERGY ANDROGEN"),  # words that merely start alike
    ("MISSING,RANGE", "missing,range"),
    ("NCT04458051", "NCT04458051"),
])
def test_operator_words_glued_to_punctuation_are_lowered(text, expected):
    assert essie.plain_words(text) == expected


def test_phrases_and_any_of_lower_glued_operators_too():
    assert essie.phrase("cladribine,OR,rituximab") == '"cladribine,or,rituximab"'
    assert essie.any_of(["AML,ALL", "NOT,"]) == '"AML,all" OR "not,"'


def test_query_parameters_carry_no_glued_operator():
    params = Query(condition="AML,ALL", term="NOT,", interventions=("cladribine,OR,rituximab",)).params()
    assert params["query.cond"] == "AML,all"
    assert params["query.term"] == "not,"
    assert params["query.intr"] == '"cladribine,or,rituximab"'


glued = st.lists(
    st.one_of(st.sampled_from(OPERATORS), st.sampled_from(",;/.-'!&|+=<>#%@ \t\n"), st.text(max_size=4)),
    max_size=12,
).map("".join)


@given(st.one_of(st.text(), glued))
@example("AML,ALL")
@example("NOT,")
@example("cladribine,OR,rituximab")
@example("éNOTé")
def test_no_upper_case_operator_survives_any_sanitised_output(text):
    assert operator_tokens(essie.plain_words(text)) == []
    assert operator_tokens(essie.phrase(text)) == []
    # any_of joins its phrases with a real OR: everything inside the quotes is plain.
    joined = essie.any_of([text, text + ",x"])
    inside = re.findall(r'"([^"]*)"', joined)
    assert operator_tokens("".join(inside)) == []
    params = Query(condition=text, term=text).params()
    for name in ("query.cond", "query.term"):
        assert operator_tokens(params.get(name, "")) == []
