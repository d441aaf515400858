"""Found by a new-user pass over regions, NCT-ID text, empty-result hints and settings."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.finder import SearchResult
from trialfinder.query import build_query
from trialfinder.render import footer, widen_tips


@pytest.mark.parametrize(("near", "phrase"), [
    ("UK", "with a site in the United Kingdom"),
    ("US", "with a site in the United States"),
    ("Philippines", "with a site in the Philippines"),
    ("Netherlands", "with a site in the Netherlands"),
    ("Dominican Republic", "with a site in the Dominican Republic"),
    ("France", "with a site in France"),
    ("MA", "with a site in Massachusetts"),
])
def test_a_country_that_takes_the_article_reads_naturally(near, phrase):
    query = build_query(near=near)
    assert query.describe(2).endswith(phrase)
    empty = footer(SearchResult(query=query, matches=[], total=0))
    assert empty[0].endswith(phrase + ".")


def test_the_region_heading_and_ranking_note_use_the_article():
    from trialfinder.render import search_columns

    query = build_query(near="UK")
    result = SearchResult(query=query, matches=[], total=0)
    headings = [c.header for c in search_columns(result)]
    assert "Recruiting sites in the United Kingdom" in headings


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"condition": "NCT05147220"}, "1 recruiting trial matching 'NCT05147220'"),
    ({"interventions": ["NCT05147220"]}, "1 recruiting multiple sclerosis trial matching 'NCT05147220'"),
    ({"term": "NCT05147220"}, "1 recruiting multiple sclerosis trial matching 'NCT05147220'"),
])
def test_nct_ids_given_as_condition_or_intervention_are_not_called_a_disease_or_drug(kwargs, text):
    assert build_query(**kwargs).describe(1) == text


def test_the_status_tip_lists_what_it_adds_as_a_sentence_would():
    tips = widen_tips(build_query(statuses=["unknown"]))
    assert "--status open (adds recruiting, not yet recruiting and enrolling by invitation)" in tips
    tips = widen_tips(build_query())
    assert "--status open (adds not yet recruiting and enrolling by invitation)" in tips


@pytest.mark.parametrize(("name", "value"), [
    ("TRIALFINDER_TIMEOUT", "x"), ("TRIALFINDER_TIMEOUT", "0"), ("TRIALFINDER_TIMEOUT", "-5"),
    ("TRIALFINDER_TIMEOUT", "nan"), ("TRIALFINDER_TRIES", "0"), ("TRIALFINDER_TRIES", "two"),
    ("TRIALFINDER_TRIES", "2.5"),
])
def test_a_bad_timeout_or_tries_setting_is_exit_2_not_ignored(monkeypatch, name, value):
    monkeypatch.setenv("TRIALFINDER_API_URL", "http://127.0.0.1:9/api/v2")  # never reached
    monkeypatch.setenv(name, value)
    run = CliRunner().invoke(cli, ["search", "-n", "Boston, MA"])
    assert run.exit_code == 2, run.output
    assert f"Error: {name}={value!r}" in run.output
    assert "Traceback" not in run.output


def test_good_timeout_and_tries_settings_are_used(monkeypatch):
    from trialfinder.client import Client

    monkeypatch.setenv("TRIALFINDER_TIMEOUT", "7.5")
    monkeypatch.setenv("TRIALFINDER_TRIES", "3")
    client = Client("http://127.0.0.1:9/api/v2")
    assert client.timeout == (10.0, 7.5)
    assert client.retry.tries == 3


def test_a_note_never_echoes_a_bidi_override_from_the_typed_place():
    from trialfinder.places import resolve_place

    place = resolve_place("Bos\u202eton")
    assert place.name.startswith("Boston, Massachusetts")
    assert place.note is not None and "\u202e" not in place.note
    assert "'Bos\\u202eton' matches" in place.note


def test_a_limited_list_without_a_known_total_reads_naturally():
    from trialfinder.models import Trial
    from trialfinder.ranking import match, rank

    from .conftest import load_fixture

    query = build_query(sort="posted", limit=2, statuses=["any"])
    trials = [Trial.from_api(s) for s in load_fixture("constructed/search_btk_boston.json")["studies"]]
    ranked = rank([m for m in (match(t, query) for t in trials) if m], "posted")
    # A walk stopped early by --limit with a non-distance sort does not know the total.
    result = SearchResult(query=query, matches=ranked[:2], total=None, truncated=True)
    line = footer(result)[0]
    assert "of more" not in line
    assert line == "Showing the most recently posted 2 multiple sclerosis trials (any status); more match."


def test_the_unknown_status_reads_as_a_status_not_as_an_unknown_trial():
    assert build_query(statuses=["unknown"]).describe(1) == "1 unknown-status multiple sclerosis trial"
    assert build_query(statuses=["unknown", "recruiting"]).describe(2) == (
        "2 unknown-status or recruiting multiple sclerosis trials")


def test_the_summary_does_not_vouch_for_conditions_it_was_told_not_to_check():
    from trialfinder.models import Trial
    from trialfinder.ranking import match

    from .conftest import load_fixture

    query = build_query(statuses=["any"], include_off_condition=True)
    trials = [Trial.from_api(s) for s in load_fixture("constructed/search_btk_boston.json")["studies"]]
    result = SearchResult(query=query, matches=[m for m in (match(t, query) for t in trials) if m])
    lines = footer(result)
    assert any("--include-off-condition" in line and "not checked" in line for line in lines), lines
    plain = footer(SearchResult(query=build_query(statuses=["any"]), matches=result.matches))
    assert not any("not checked" in line for line in plain)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_every_heading_of_the_trial_page_is_underlined_to_its_length(width):
    from trialfinder.models import Trial
    from trialfinder.places import resolve_place
    from trialfinder.render import trial_text

    from .conftest import load_fixture

    trial = Trial.from_api(load_fixture("constructed/study_NCT04458051.json"))
    for place in (None, resolve_place("Boston, MA")):
        lines = trial_text(trial, place, width=width).splitlines()
        rules = [i for i, line in enumerate(lines) if line and set(line) <= {"-"} and i > 0
                 and lines[i - 1] and not set(lines[i - 1]) <= {"-", " "}]
        for i in rules:  # a heading is the lines since the last blank one; it may wrap
            start = max(j for j in range(i) if not lines[j]) + 1
            heading = lines[start:i]
            assert len(lines[i]) == max(map(len, heading)) <= width, (heading, lines[i])
        assert any(lines[i - 1].startswith("Sites (") or lines[i - 2].startswith("Sites (") for i in rules)


@pytest.mark.parametrize("text", ["東京", "Xqzzyvv"])
def test_an_unknown_place_with_nothing_close_says_what_is_understood(text):
    from trialfinder.exceptions import PlaceNotFound
    from trialfinder.places import resolve_location

    with pytest.raises(PlaceNotFound) as caught:
        resolve_location(text)
    message = str(caught.value)
    assert message.startswith(f"unknown place {text!r}: give a city")
    assert "US ZIP code" in message and "a US state or a country" in message


def test_an_empty_place_names_regions_too():
    from trialfinder.exceptions import InputError
    from trialfinder.places import resolve_location

    with pytest.raises(InputError, match="empty place: .* a US state or a country"):
        resolve_location("  ")


def test_an_age_alone_reads_as_people_of_that_age():
    assert build_query(age=45).describe(3) == "3 recruiting multiple sclerosis trials open to people aged 45"
    assert build_query(age=45, sex="female").describe(1).endswith("trial open to women aged 45")
    assert build_query(sex="male").describe(2).endswith("trials open to men")


def test_doctor_against_a_url_that_is_not_the_api_says_which_url_to_try(tmp_path):
    from .e2e_support import cli_env, run_cli, world
    from .fakeapi import FakeCTGov

    with FakeCTGov(world()) as api:
        root = api.url.split("/api/v2")[0]
        run = run_cli(["doctor", "--api-url", root + "/"], cli_env(api.url, tmp_path))
    assert run.returncode == 1, run
    line = next(x for x in run.stdout.splitlines() if x.split()[1:2] == ["api"])
    assert f"this URL is not the ClinicalTrials.gov API; check --api-url or TRIALFINDER_API_URL: try {root}/api/v2" in line
    assert line.count("this URL is not") == 1, line
