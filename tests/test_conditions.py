"""On-condition results: the registry's condition search is loose (trialfinder/conditions.py)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.conditions import ConditionCheck, abbreviations, alternatives, tokens
from trialfinder.models import Trial

from .conftest import API, load_fixture

STUDIES = f"{API}/studies"
SSC = "NCT06655896"  # diffuse cutaneous systemic sclerosis, returned for query.cond=multiple sclerosis


def trial(nct: str, conditions: tuple[str, ...] = (), keywords: tuple[str, ...] = (),
          meshes: tuple[str, ...] = ()) -> Trial:
    return Trial(nct, conditions=conditions, keywords=keywords, condition_meshes=meshes)


def judge(condition: str, *trials: Trial) -> tuple[list[bool], ConditionCheck]:
    check = ConditionCheck(condition)
    for t in trials:
        check.observe(t)
    return [check.on_condition(t) for t in trials], check


# -- the real recording -----------------------------------------------------------------


def portland_page() -> dict[str, Any]:
    """The recorded answer to query.cond=multiple sclerosis near Portland, OR (50 mi), served as
    the whole answer: it is page 1 of 2, so its token is dropped and the total is what it holds."""
    page = copy.deepcopy(load_fixture("real/Ledgeworth-Studios_UnivabioComp__search_ms_portland.json"))
    page.pop("nextPageToken")
    page["totalCount"] = len(page["studies"])
    return page


def search(*args: str):
    return CliRunner().invoke(cli, ["search", "--api-url", API, "-n", "Portland, OR", "-r", "50mi", *args],
                              catch_exceptions=False)


def test_recorded_systemic_sclerosis_trial_is_left_out_and_counted(mocked):
    mocked.get(STUDIES, json=portland_page())
    result = search()
    assert result.exit_code == 0, result.output
    shown = [line.split()[0] for line in result.stdout.splitlines() if re.match(r"NCT\d{8} ", line)]
    assert shown == ["NCT04047628", "NCT06433752", "NCT06441617"]  # NCT06408259: no site within 50 mi
    assert ("1 trial left out: its conditions (Scleroderma, Diffuse) are not multiple sclerosis "
            f"({SSC}; --include-off-condition shows it).") in result.stdout


def test_left_out_line_goes_to_stderr_with_json(mocked):
    mocked.get(STUDIES, json=portland_page())
    result = search("-f", "json")
    assert SSC not in [t["nct_id"] for t in json.loads(result.stdout)]
    assert "1 trial left out: its conditions (Scleroderma, Diffuse) are not multiple sclerosis" in result.stderr


def test_include_off_condition_shows_it(mocked):
    mocked.get(STUDIES, json=portland_page())
    result = search("--include-off-condition", "-f", "json")
    assert SSC in [t["nct_id"] for t in json.loads(result.stdout)]
    assert "left out" not in result.stderr


def test_projection_asks_for_keywords_and_condition_mesh_terms(mocked):
    mocked.get(STUDIES, json=portland_page())
    search()
    fields = mocked.calls[0].request.params["fields"].split(",")
    assert {"Condition", "Keyword", "ConditionMeshTerm", "ConditionAncestorTerm"} <= set(fields)


# -- the rule ---------------------------------------------------------------------------


def test_narrower_forms_of_the_condition_are_kept():
    kept, _ = judge(
        "multiple sclerosis",
        trial("NCT00000001", ("MS (Multiple Sclerosis)",)),
        trial("NCT00000002", ("Relapsing Multiple Sclerosis",)),
        trial("NCT00000003", ("Multiple Sclerosis, Chronic Progressive",)),
        trial("NCT00000004", ("Demyelinating Disease",), meshes=("Multiple Sclerosis",)),
        trial("NCT00000005", ("Fatigue",), keywords=("multiple sclerosis",)),
        trial("NCT00000006", ("Scleroderma, Diffuse",), ("Diffuse cutaneous systemic sclerosis (dcSSc)",),
              ("Scleroderma, Diffuse", "Scleroderma, Systemic", "Sclerosis")),
        trial("NCT00000007", ("Multiple Myeloma",), meshes=("Multiple Myeloma", "Neoplasms, Plasma Cell")),
    )
    assert kept == [True, True, True, True, True, False, False]


def test_a_mesh_ancestor_means_the_trial_is_about_a_narrower_condition():
    ms = trial("NCT00000001", ("Relapsing MS",), meshes=("Multiple Sclerosis", "Demyelinating Diseases"))
    ssc = trial("NCT00000002", ("Systemic Sclerosis",), meshes=("Scleroderma, Systemic", "Connective Tissue Diseases"))
    assert judge("demyelinating disease", ms, ssc)[0] == [True, False]
    assert judge("connective tissue diseases", ms, ssc)[0] == [False, True]


def test_an_abbreviation_counts_where_a_record_spells_it_out():
    spelt = trial("NCT00000001", ("Relapsing Multiple Sclerosis",), ("Treatment-Resistant Multiple Sclerosis (MS)",))
    short = trial("NCT00000002", ("Relapsing MS",))  # no MeSH, no words but the abbreviation
    other = trial("NCT00000003", ("Myasthenia Gravis",))
    assert judge("multiple sclerosis", spelt, short, other)[0] == [True, True, False]
    other = trial("NCT00000003", ("Myasthenia Gravis",), meshes=("Myasthenia Gravis",))
    # Asked the other way round: "MS", spelt out as "MS (Multiple Sclerosis)" somewhere.
    long_only = trial("NCT00000004", ("Multiple Sclerosis",), meshes=("Multiple Sclerosis",))
    inverted = trial("NCT00000005", ("MS (Multiple Sclerosis)",), meshes=("Multiple Sclerosis",))
    assert judge("MS", long_only, inverted, other)[0] == [True, True, False]


def test_free_text_that_names_no_mesh_term_is_not_checked():
    # "long covid" is not a MeSH term: the registry matched these through its own synonyms.
    pasc = trial("NCT00000001", ("Post-Acute COVID-19 Syndrome",), meshes=("Post-Acute COVID-19 Syndrome",))
    named = trial("NCT00000002", ("Long COVID",), meshes=("Post-Acute COVID-19 Syndrome",))
    kept, check = judge("long covid", pasc, named)
    assert kept == [True, True]
    assert check.describe() == ("'long covid' names no condition term of these trials, so they were not "
                                "checked against it.")
    # The same trials asked for by their MeSH term are checked.
    assert judge("post-acute covid-19 syndrome", pasc, named)[1].describe() == ""


def test_free_text_conditions_with_no_mesh_match_are_shown_unchecked():
    """In an answer with MeSH data, a record whose conditions the registry mapped to no
    MeSH term was matched through titles or synonyms: it is shown, and said to be unchecked."""
    mapped = trial("NCT00000001", ("Multiple Sclerosis",), meshes=("Multiple Sclerosis",))
    unmapped = trial("NCT00000002", ("Relapsing MS",))  # no MeSH term, no spelt-out abbreviation
    ssc = trial("NCT00000003", ("Scleroderma, Diffuse",), meshes=("Scleroderma, Diffuse",))
    kept, check = judge("multiple sclerosis", mapped, unmapped, ssc)
    assert kept == [True, True, False]
    assert [check.unsure(t) for t in (mapped, unmapped, ssc)] == [False, True, False]
    # Without MeSH data anywhere in the answer (a projection without it), the words decide.
    assert judge("multiple sclerosis", trial("NCT00000001", ("Multiple Sclerosis",)), unmapped)[0] == [True, False]


def test_unchecked_trials_are_counted_in_the_footer(mocked):
    page = portland_page()
    for study in page["studies"]:  # the registry's MeSH terms, as a search fetches them
        conditions = study["protocolSection"]["conditionsModule"]["conditions"]
        study["derivedSection"] = {"conditionBrowseModule": {"meshes": [{"term": c} for c in conditions]}}
    beat = next(s for s in page["studies"] if s["protocolSection"]["identificationModule"]["nctId"] == "NCT04047628")
    beat["protocolSection"]["conditionsModule"] = {"conditions": ["Treatment-resistant RMS"]}
    del beat["derivedSection"]
    mocked.get(STUDIES, json=page)
    result = search()
    assert "NCT04047628" in result.stdout and SSC not in result.stdout.split("\n\n")[0]
    assert ("1 trial shown unchecked: its conditions (Treatment-resistant RMS) match no MeSH term and do not "
            "name multiple sclerosis (NCT04047628).") in result.stdout


def test_a_trial_that_says_nothing_about_its_condition_is_kept():
    known = trial("NCT00000001", ("Multiple Sclerosis",), meshes=("Multiple Sclerosis",))
    silent = trial("NCT00000002")
    assert judge("multiple sclerosis", known, silent)[0] == [True, True]


def test_an_empty_answer_has_no_note():
    assert ConditionCheck("long covid").describe() == ""


def test_any_condition_checks_nothing():
    check = ConditionCheck("")
    assert not check.active
    assert check.on_condition(trial("NCT00000001", ("Scleroderma, Diffuse",)))


@pytest.mark.parametrize("asked, text", [
    ("Parkinson's disease", "Parkinson Disease"),
    ("brain tumour", "Tumors, Brain"),
    ("oedema", "Macular Edema"),
    ("leukaemia", "Leukemia, Myeloid, Acute"),
    ("neuropathies", "Diabetic Neuropathy"),
    ("covid19", "COVID-19"),
    ("Sjögren syndrome", "Sjogren's Syndrome"),
])
def test_normalised_words(asked, text):
    assert any(alt <= tokens(text) for alt in alternatives(asked))


def test_alternatives_split_at_commas_and_or():
    assert alternatives("AML, ALL or CLL") == [tokens("AML"), tokens("ALL"), tokens("CLL")]
    kept, _ = judge("AML, ALL", trial("NCT00000001", ("ALL",)), trial("NCT00000002", ("AML",)),
                    trial("NCT00000003", ("CLL",)))
    assert kept == [True, True, False]


def test_abbreviations_both_ways():
    assert abbreviations("Diffuse cutaneous systemic sclerosis (dcSSc)") == (
        ("dcSSc", "Diffuse cutaneous systemic sclerosis"),)
    assert abbreviations("Treatment-Resistant Relapsing Multiple Sclerosis (MS)") == (("MS", "Multiple Sclerosis"),)
    assert abbreviations("MS (Multiple Sclerosis)") == (("MS", "Multiple Sclerosis"),)
    assert abbreviations("Zeposia (ozanimod) 0.92 mg") == ()


def test_a_limited_walk_does_not_stop_on_trials_left_out(mocked):
    """With --limit and an API-side sort the walk stops early, but only counting trials
    that are surely on condition: two off-condition trials on page 1 do not end it."""
    from trialfinder.client import Client
    from trialfinder.finder import search as run_search
    from trialfinder.query import Query

    studies = portland_page()["studies"]
    ssc = next(s for s in studies if s["protocolSection"]["identificationModule"]["nctId"] == SSC)
    other = copy.deepcopy(ssc)
    other["protocolSection"]["identificationModule"]["nctId"] = "NCT06655897"
    ms = next(s for s in studies if s["protocolSection"]["identificationModule"]["nctId"] != SSC)
    mocked.get(STUDIES, json={"studies": [ssc, other], "totalCount": 3, "nextPageToken": "t1"})
    mocked.get(STUDIES, json={"studies": [ms]})
    result = run_search(Client(API), Query(sort="updated", limit=1))
    assert [m.trial.nct_id for m in result.matches] == [ms["protocolSection"]["identificationModule"]["nctId"]]
    assert [m.trial.nct_id for m in result.off_condition] == [SSC, "NCT06655897"]
