"""End to end (the installed command against the API stand-in, over real sockets): operator
words glued to punctuation reach the registry as plain words (issue 8, s3), and bidi
overrides are removed from every text ``show`` prints (issue 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .e2e_support import (
    BOSTON,
    PERSEUS,
    cli_env,
    protocol,
    require_installed_command,
    run_cli,
    world,
)
from .test_regressions_essie import operator_tokens

require_installed_command()

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.fixture
def tf(api, tmp_path):
    def run(*args: str):
        return run_cli(args, cli_env(api.url, tmp_path, tries=1))
    return run


# -- operator words -------------------------------------------------------------------------


@pytest.mark.parametrize("args, param, sent", [
    (("-c", "AML,ALL"), "query.cond", "AML,all"),
    (("-t", "NOT,"), "query.term", "not,"),
    (("-t", "cladribine,OR,rituximab"), "query.term", "cladribine,or,rituximab"),
    (("-i", "cladribine,OR,rituximab"), "query.intr", '"cladribine,or,rituximab"'),
    (("-c", "MS;AND;NOT"), "query.cond", "MS;and;not"),
])
def test_operator_words_glued_to_punctuation_reach_the_registry_as_words(tf, api, args, param, sent):
    result = tf("search", *args, "-n", BOSTON, "-f", "json")
    # The stand-in parses Essie like the registry: "NOT," as an operator is a 400 there.
    assert result.returncode == 0, result
    [request] = api.requests
    assert request.status == 200
    assert request.params[param] == sent
    assert operator_tokens(request.params[param]) == []


# -- bidi overrides in everything show prints ---------------------------------------------


def with_bidi(text: str, i: int) -> str:
    """``text`` wrapped in a bidi override and isolate (a different pair per field)."""
    return f"{BIDI[i % 5]}{text}{BIDI[4]}{BIDI[5 + i % 4]}evil{BIDI[8]}"


def hostile_perseus() -> list[dict[str, Any]]:
    studies = world()
    p = protocol(studies, PERSEUS)
    p["descriptionModule"]["briefSummary"] = with_bidi("A summary\nover two lines", 0)
    p["eligibilityModule"]["eligibilityCriteria"] = with_bidi("Inclusion Criteria:\n* Adults", 1)
    central = p["contactsLocationsModule"]["centralContacts"][0]
    central.update(name=with_bidi("Trial Team", 2), phone=with_bidi("555-0100", 3), email=with_bidi("t@example.org", 4))
    for i, location in enumerate(p["contactsLocationsModule"]["locations"]):
        for contact in location.get("contacts", []):
            contact.update(name=with_bidi("Coordinator", i), phone=with_bidi("555-0111", i + 1),
                           email=with_bidi("site@example.org", i + 2))
    for official in p["contactsLocationsModule"].get("overallOfficials", []):
        official["name"] = with_bidi(official.get("name", "Official"), 5)
    return studies


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return []


def test_show_prints_no_bidi_override_in_summary_eligibility_or_contacts(tf, api):
    api.set_studies(hostile_perseus())
    result = tf("show", PERSEUS, "-n", BOSTON)
    assert result.returncode == 0, result
    out = result.stdout + result.stderr
    assert not set(BIDI) & set(out), sorted(hex(ord(c)) for c in set(BIDI) & set(out))
    # The texts themselves are still there, only the overrides are gone.
    for text in ("A summary", "Inclusion Criteria:", "Trial Team evil · 555-0100 evil", "t@example.org",
                 "555-0111 evil", "site@example.org"):
        assert text in result.stdout, text


def test_show_json_carries_no_bidi_override_in_any_value(tf, api):
    api.set_studies(hostile_perseus())
    result = tf("show", PERSEUS, "-n", BOSTON, "-f", "json")
    assert result.returncode == 0, result
    doc = json.loads(result.stdout)  # JSON escapes them; the parsed values must not hold them
    values = strings(doc)
    assert not [v for v in values if set(BIDI) & set(v)]
    assert doc["summary"].startswith("A summary") and doc["eligibility_criteria"].startswith("Inclusion")
    assert doc["central_contacts"][0]["name"] == "Trial Team evil"
