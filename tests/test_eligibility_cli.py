"""The pre-screen through the CLI: fit column, JSON contract, show checklist, bad profiles."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.query import SEARCH_FIELDS
from trialfinder.status import ExitStatus

from .conftest import API, load_fixture
from .eligibility_support import page_with_criteria
from .test_eligibility_profile import ISSUE_PROFILE

STUDIES = f"{API}/studies"
SMOLDERING = ["--ms-type", "nrspms", "--edss", "6", "--age", "45", "--sex", "male", "--months-since-relapse", "60"]


def run(*args: str):
    return CliRunner().invoke(cli, ["search", "--api-url", API, *args], catch_exceptions=False)


def test_fit_column_hides_excluded_and_says_why(mocked):
    mocked.get(STUDIES, json=page_with_criteria())
    result = run("-d", "btk", "-n", "Boston, MA", *SMOLDERING)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[-1] == "Fit"
    rows = [line for line in lines if line.startswith("NCT0")]
    assert [r.split()[0] for r in rows] == ["NCT07299019"]  # nrSPMS, EDSS 3.0-6.5: fits so far
    assert rows[0].endswith("✓ fits so far")
    assert ("2 trials hidden because the criteria rule out your profile (PPMS only: 1, relapsing MS only: 1); "
            "--show-excluded lists them.") in result.stdout
    assert mocked.calls[0].request.params["fields"] == ",".join((*SEARCH_FIELDS, "EligibilityCriteria"))


def test_limit_counts_only_the_trials_shown_after_the_prescreen(mocked):
    mocked.get(STUDIES, json=page_with_criteria())
    result = run("-d", "btk", "-n", "Boston, MA", *SMOLDERING, "--limit", "1")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("NCT0")]
    # the nearest trial (PERSEUS) is ruled out and hidden: it must not use up the one place
    assert [r.split()[0] for r in rows] == ["NCT07299019"]
    assert "2 trials hidden" in result.stdout


def test_show_excluded_lists_them_last_and_on_counts_as_current(mocked):
    mocked.get(STUDIES, json=page_with_criteria())
    result = run("-d", "btk", "-n", "Boston, MA", *SMOLDERING, "--on", "Ocrevus", "--show-excluded")
    rows = [line for line in result.stdout.splitlines() if line.startswith("NCT0")]
    assert [r.split()[0] for r in rows] == ["NCT07299019", "NCT04458051", "NCT05147220"]
    assert rows[0].endswith("? 1 to ask")  # inside the 12-month ocrelizumab washout: ask, not excluded
    assert rows[1].endswith("✗ PPMS only") and rows[2].endswith("✗ relapsing MS only")
    assert "hidden" not in result.stdout


def test_json_contract_keeps_every_trial(mocked, tmp_path):
    profile = tmp_path / "me.toml"
    profile.write_text(ISSUE_PROFILE)
    mocked.get(STUDIES, json=page_with_criteria())
    result = run("-d", "btk", "-n", "Boston, MA", "--profile", str(profile), "-f", "json")
    data = json.loads(result.stdout)
    assert len(data) == 3  # excluded trials are never dropped from JSON
    by_id = {d["nct_id"]: d["eligibility"] for d in data}
    assert by_id["NCT04458051"]["verdict"] == "excluded"
    assert by_id["NCT07299019"]["verdict"] == "unclear"
    for elig in by_id.values():
        assert set(elig) == {"verdict", "reasons", "facts"}
        for reason in elig["reasons"]:
            assert set(reason) == {"verdict", "source", "text", "why"}
            assert reason["verdict"] in ("excluded", "unclear", "no_conflict")
    first = by_id["NCT04458051"]["reasons"][0]
    assert first == {"verdict": "excluded", "source": "criteria",
                     "text": "Diagnosis of primary progressive multiple sclerosis (PPMS) according to the 2017 "
                             "revised McDonald criteria.",
                     "why": "the trial admits PPMS, not non-active secondary progressive MS"}


@pytest.mark.parametrize("fmt, header", [("csv", ",fit,eligibility"), ("markdown", "| Fit")])
def test_csv_and_markdown_have_a_fit_column(mocked, fmt, header):
    mocked.get(STUDIES, json=page_with_criteria())
    result = run("-d", "btk", "-n", "Boston, MA", *SMOLDERING, "-f", fmt)
    assert header in result.stdout.splitlines()[0]
    if fmt == "csv":
        assert len(result.stdout.splitlines()) == 4  # every trial, excluded ones included
        assert "✗ PPMS only,excluded" in result.stdout


def test_without_profile_the_projection_and_table_are_unchanged(mocked):
    mocked.get(STUDIES, json=page_with_criteria())
    result = run("-d", "btk", "-n", "Boston, MA", "--age", "45", "--sex", "male")
    assert mocked.calls[0].request.params["fields"] == ",".join(SEARCH_FIELDS)
    assert "Fit" not in result.stdout and "hidden" not in result.stdout


@pytest.mark.parametrize("content, key", [
    ("edss = 10.5", "edss"), ("edss = 6.2", "edss"), ('ms_type = "smoldering"', "ms_type"),
    ("colour = 1", "colour"), ("months_since_relapse = -2", "months_since_relapse"),
])
def test_bad_profile_is_one_line_exit_2_naming_the_key(mocked, tmp_path, content, key):
    profile = tmp_path / "me.toml"
    profile.write_text(content + "\n")
    result = run("--profile", str(profile))
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr.startswith("Error: ") and key in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_bad_option_value_exit_2():
    result = run("--edss", "6.3")
    assert result.exit_code == ExitStatus.USAGE and "edss" in result.stderr
    result = run("--ms-type", "smoldering")
    assert result.exit_code == ExitStatus.USAGE and "--ms-type" in result.stderr


def test_show_profile_checklist(mocked, tmp_path):
    profile = tmp_path / "me.toml"
    profile.write_text(ISSUE_PROFILE)
    mocked.get(f"{API}/studies/NCT04458051", json=load_fixture("constructed/study_NCT04458051.json"))
    result = CliRunner().invoke(cli, ["show", "NCT04458051", "--profile", str(profile), "--edss", "7",
                                      "--api-url", API], catch_exceptions=False)
    assert result.exit_code == 0
    text = result.stdout
    assert "Could you join? Pre-screen against your profile" in text
    assert "✗ PPMS only  [you: nrspms]: the trial admits PPMS, not non-active secondary progressive MS" in text
    assert "✗ EDSS 3.0–6.5  [you: 7.0]: EDSS 7.0 is outside the 3.0–6.5 allowed" in text  # option beats file
    assert "“Expanded Disability Status Scale (EDSS) score from 3.0 to 6.5 points, inclusive, at" in text
    assert "Ask: Has a spinal tap (CSF test) shown this?" in text
    assert "✓ age ≤ 55  [you: 45]" in text


def test_show_json_with_profile_has_the_contract(mocked):
    mocked.get(f"{API}/studies/NCT04458051", json=load_fixture("constructed/study_NCT04458051.json"))
    result = CliRunner().invoke(cli, ["show", "NCT04458051", "--ms-type", "ppms", "-f", "json", "--api-url", API],
                                catch_exceptions=False)
    data = json.loads(result.stdout)
    assert data["eligibility"]["verdict"] == "unclear"
    assert data["eligibility"]["facts"]["ms_type"][0]["types"] == ["ppms"]


def test_drug_classes_list_brand_names():
    result = CliRunner().invoke(cli, ["drug-classes", "anti-cd20", "-f", "json"], catch_exceptions=False)
    members = {m["drug"]: m for m in json.loads(result.stdout)[0]["members"]}
    assert "Ocrevus" in members["ocrelizumab"]["brands"] and "Kesimpta" in members["ofatumumab"]["brands"]
    table = CliRunner().invoke(cli, ["drug-classes", "fumarates"], catch_exceptions=False).stdout
    assert "Brands" in table and "Tecfidera" in table
