"""``show``, ``locate``, ``drug-classes``, ``--version`` and exit statuses."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from trialfinder import __version__
from trialfinder.cli import cli
from trialfinder.places import gazetteer_path
from trialfinder.status import ExitStatus

from .conftest import API, load_fixture

STUDY = f"{API}/studies/NCT04458051"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_show_table_with_near(mocked):
    mocked.get(STUDY, json=load_fixture("constructed/study_NCT04458051.json"))
    result = invoke("show", "nct04458051", "--near", "Boston, MA", "--api-url", API)
    assert result.exit_code == ExitStatus.SUCCESS
    assert result.stdout.startswith("NCT04458051  PERSEUS")
    assert "Sites (5, nearest first from Boston" in result.stdout
    assert "Eligibility criteria" in result.stdout


def test_show_json_one_object_and_several_as_list(mocked):
    record = load_fixture("constructed/study_NCT04458051.json")
    mocked.get(STUDY, json=record)
    single = json.loads(invoke("show", "NCT04458051", "-f", "json", "--api-url", API).stdout)
    assert single["nct_id"] == "NCT04458051"
    assert single["sites"][0]["city"] == "Warsaw"  # registry order without --near
    mocked.get(f"{API}/studies/NCT06251323",
               json=load_fixture("real/Ledgeworth-Studios_UnivabioComp__study_NCT06251323.json"))
    mocked.get(STUDY, json=record)
    several = json.loads(invoke("show", "NCT04458051", "NCT06251323", "-f", "json", "--api-url", API).stdout)
    assert [t["nct_id"] for t in several] == ["NCT04458051", "NCT06251323"]


def test_show_unknown_trial_is_exit_2(mocked):
    mocked.get(f"{API}/studies/NCT99999999", status=404, body="NCT number NCT99999999 not found")
    result = invoke("show", "NCT99999999", "--api-url", API)
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr.strip().splitlines() == [
        "Error: no trial NCT99999999 on ClinicalTrials.gov"]


def test_show_malformed_id_is_exit_2_before_any_request(mocked):
    result = invoke("show", "NCT0445805", "NCT1]", "--api-url", API)
    assert result.exit_code == ExitStatus.USAGE
    assert "Error: 'NCT1]' is not an NCT number" in result.stderr


def test_show_server_failure_is_exit_1(mocked, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    for _ in range(5):
        mocked.get(STUDY, status=500, body="boom")
    result = invoke("show", "NCT04458051", "--api-url", API)
    assert result.exit_code == ExitStatus.ERROR
    assert result.stderr.startswith(f"Error: GET {STUDY}: HTTP 500")


def test_locate_text_and_json():
    result = invoke("locate", "Boston, MA")
    assert result.exit_code == 0
    assert result.stdout.startswith("Boston, Massachusetts, United States: 42.35")
    data = json.loads(invoke("locate", "02115", "-f", "json").stdout)
    assert data["kind"] == "zip" and round(data["lat"], 1) == 42.3


def test_locate_unknown_place_suggests_and_exits_2():
    result = invoke("locate", "Bostonn")
    assert result.exit_code == ExitStatus.USAGE
    assert "Error: unknown place 'Bostonn'; did you mean" in result.stderr
    assert "Boston" in result.stderr


def test_drug_classes_lists_members_and_code_names():
    result = invoke("drug-classes")
    assert result.exit_code == 0
    for text in ("btk: BTK inhibitors", "tolebrutinib", "SAR442168", "anti-cd20", "ocrelizumab", "s1p"):
        assert text in result.stdout
    one = invoke("drug-classes", "BTK inhibitor")
    assert "Source" in one.stdout and "anti-cd20" not in one.stdout
    data = json.loads(invoke("drug-classes", "-f", "json").stdout)
    btk = next(c for c in data if c["key"] == "btk")
    assert {"tolebrutinib", "evobrutinib", "fenebrutinib", "remibrutinib", "orelabrutinib"} <= {
        m["drug"] for m in btk["members"]}
    assert all(m["source"] for c in data for m in c["members"])


def test_drug_classes_unknown_exit_2():
    result = invoke("drug-classes", "statins")
    assert result.exit_code == ExitStatus.USAGE


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


@pytest.mark.parametrize("args", [["nosuchcommand"], ["search", "--nosuchoption"], ["show"]])
def test_click_usage_errors_are_one_line_exit_2(args):
    result = invoke(*args)
    assert result.exit_code == ExitStatus.USAGE
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("Error: ")


def test_first_place_lookup_unpacks_the_shipped_index_quietly(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_CACHE_DIR", str(tmp_path / "cache"))
    first = invoke("locate", "Lyon, France")
    assert first.exit_code == 0
    assert first.stderr == ""  # a fraction of a second: nothing to announce
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [gazetteer_path().name]
    again = invoke("locate", "Lyon, France")
    assert again.stderr == "" and again.stdout == first.stdout
