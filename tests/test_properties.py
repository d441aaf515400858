"""Property-based tests: the parser and the sanitisers hold for any input."""

from __future__ import annotations

import copy
import csv
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialfinder import essie
from trialfinder.exceptions import RecordError
from trialfinder.finder import SearchResult
from trialfinder.models import Trial
from trialfinder.places import Place
from trialfinder.query import Query
from trialfinder.ranking import match
from trialfinder.render import render_search
from trialfinder.text import clean_line, clean_text, neutralise_csv

from .conftest import load_fixture

BASE = load_fixture("constructed/search_btk_boston.json")["studies"][0]
BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def paths(value, prefix=()):
    """Every key path in a nested JSON value (dict keys and list indexes)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


ALL_PATHS = [p for p in paths(BASE) if p]


def mutate(record, path, replacement, delete):
    target = record
    for step in path[:-1]:
        target = target[step]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = replacement
    return record


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_PATHS), json_values, st.booleans())
def test_parser_yields_a_trial_or_a_record_error_for_any_damaged_field(path, replacement, delete):
    record = mutate(copy.deepcopy(BASE), path, replacement, delete)
    try:
        trial = Trial.from_api(record)
    except RecordError:
        return
    # Whatever parsed must also rank and render without error.
    query = Query(place=BOSTON)
    found = match(trial, query)
    result = SearchResult(query, [found] if found else [])
    for fmt in ("table", "json", "csv", "markdown"):
        render_search(result, fmt)


@given(json_values)
def test_parser_never_crashes_on_arbitrary_json(value):
    try:
        Trial.from_api(value)
    except RecordError:
        pass


@given(st.text())
def test_cleaned_text_has_no_escape_or_control_characters(text):
    for cleaned in (clean_text(text), clean_line(text)):
        assert not any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F for c in cleaned)
        assert "\u202e" not in cleaned
    assert "\n" not in clean_line(text)


@given(st.text())
def test_plain_words_never_carry_essie_syntax(text):
    words = essie.plain_words(text)
    assert not set('[]()"\\') & set(words)
    assert not {"AND", "OR", "NOT", "MISSING", "ALL", "RANGE", "AREA"} & set(words.split())


@given(st.text())
def test_csv_cells_never_start_a_formula(text):
    cell = neutralise_csv(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    row = next(csv.reader(io.StringIO(_csv_line(cell))))
    assert row == [cell]


def _csv_line(cell: str) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([cell])
    return out.getvalue()


@given(st.text(max_size=40))
def test_query_params_are_json_safe_strings(text):
    params = Query(condition=text, term=text, interventions=(text,)).params()
    assert all(isinstance(v, str) for v in params.values())
    json.dumps(params)
