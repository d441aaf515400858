"""``dumps_indented`` is ``json.dumps(value, indent=2)`` byte for byte, at any nesting level."""

from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialfinder.jsonindent import dumps_indented

leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                   st.text())
values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=5), inner, max_size=4)), max_leaves=30)


@settings(max_examples=500)
@given(values, st.integers(0, 3))
def test_equals_json_dumps_indent_2(value, level):
    assert dumps_indented(value, level) == json.dumps(value, indent=2).replace("\n", "\n" + "  " * level)


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize("value", [
    {1: "int key", "b": [None, True]}, [{"a": {2.5: 1}}], {"e": Colour.RED, "s": "\x1b[31m\u202e ſ 🙂"},
    [], {}, [[], {}], float("-inf"), 10**30,
])
def test_odd_values_equal_json_too(value):
    assert dumps_indented(value) == json.dumps(value, indent=2)


def test_values_json_cannot_encode_raise_as_json_does():
    with pytest.raises(TypeError):
        dumps_indented({"a": object()})
