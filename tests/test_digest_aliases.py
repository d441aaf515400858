"""Renumbered trials (``NCTIdAlias``) in a digest, in process: the CLI run through click's
runner against the loopback API stand-in, a real SQLite state and the loopback SMTP server.

tests/test_registry_traps.py covers the same behaviour through the installed command; these
run in this process (``api`` is the stand-in from conftest.py), so that mutation testing (which cannot see into a subprocess) measures
``aliases_of`` and ``renumbered``.
"""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.digest import aliases_of

from .e2e_support import (
    ORELA_SPMS,
    PERSEUS,
    REMODEL_1,
    mail_parts,
    protocol,
    reported,
    world,
    write_config,
)
from .smtpserver import SMTPServer

NEW_NUMBER = "NCT06999999"


def record(aliases: Any) -> dict[str, Any]:
    return {"protocolSection": {"identificationModule": {"nctId": NEW_NUMBER, "nctIdAliases": aliases}}}


def test_aliases_of_reads_and_normalises_former_numbers():
    assert aliases_of(record(["NCT05147220", " nct01234567 "])) == ["NCT05147220", "NCT01234567"]


def test_aliases_of_skips_what_is_not_an_nct_number():
    assert aliases_of(record(["not a number", "NCT05147220", None])) == ["NCT05147220"]


@pytest.mark.parametrize("raw", [
    {"protocolSection": {"identificationModule": {"nctId": NEW_NUMBER}}},  # no aliases: most records
    record("NCT05147220"),  # a string, not a list: never read letter by letter
    record(None),
    {"protocolSection": {"identificationModule": ["NCT05147220"]}},
    {"protocolSection": {}},
    {},
    ["NCT05147220"],
    None,
])
def test_aliases_of_a_record_without_a_list_of_aliases_is_empty(raw):
    assert aliases_of(raw) == []


def renumber(studies: list[dict[str, Any]], old: str, new: str) -> None:
    ident = protocol(studies, old)["identificationModule"]
    ident["nctId"], ident["nctIdAliases"] = new, [old]


@pytest.fixture
def smtp():
    with SMTPServer() as mail:
        yield mail


@pytest.fixture
def run(api, smtp, tmp_path, monkeypatch):
    for name in ("TRIALFINDER_TRIES", "TRIALFINDER_TIMEOUT", "TRIALFINDER_DEADLINE", "TRIALFINDER_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    config = write_config(tmp_path / "config.toml", smtp.port)

    def digest(*args: str):
        return CliRunner().invoke(cli, ["digest", "--config", str(config), "--api-url", api.url, *args],
                                  catch_exceptions=False)
    digest.state = tmp_path / "state.db"  # type: ignore[attr-defined]
    return digest


def test_renumbered_trial_is_one_change_under_its_new_number(api, smtp, run):
    assert run().exit_code == 0
    assert reported(run.state) == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 1}

    studies = world()
    renumber(studies, REMODEL_1, NEW_NUMBER)
    api.set_studies(studies)
    result = run()
    assert result.exit_code == 0, result.output
    assert "btk-boston: 0 new, 1 changed, 0 gone: sent to" in result.stderr
    plain, html = mail_parts(smtp.messages[-1].message)
    assert "NO LONGER MATCHING" not in plain and "NEW TO THIS SEARCH" not in plain
    block = plain.split("CHANGED", 1)[1]
    # Under its new number, with its title, link and why it matches, and the renumbering first.
    assert f"REMODEL-1 ({NEW_NUMBER})" in block
    assert f"https://clinicaltrials.gov/study/{NEW_NUMBER}" in block
    assert "nearest site: Novartis Investigative Site, Springfield, MA, 80 mi (1 within 100 mi)" in block
    assert f"- renumbered on ClinicalTrials.gov: {REMODEL_1} is now {NEW_NUMBER}" in block
    # Who may join and whom to ask, from the item's snapshot, as for any other change.
    assert "Age and sex: 18 years to 55 years, all sexes" in block
    assert "Contact: Site Coordinator Springfield, 555-0123" in block
    assert plain.count(f"({NEW_NUMBER})") == 1
    assert NEW_NUMBER in html
    assert reported(run.state) == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 0, NEW_NUMBER: 1}

    assert run().exit_code == 0
    assert len(smtp.messages) == 2  # nothing more to say


def test_renumbered_trial_also_lists_what_else_changed_in_the_searchs_unit(api, smtp, run, tmp_path):
    config = write_config(tmp_path / "config.toml", smtp.port, radius='"161km"')
    assert run("--config", str(config)).exit_code == 0
    studies = world()
    renumber(studies, REMODEL_1, NEW_NUMBER)
    ident = protocol(studies, NEW_NUMBER)["identificationModule"]
    ident["briefTitle"] += " (renamed)"
    sites = protocol(studies, NEW_NUMBER)["contactsLocationsModule"]["locations"]
    sites.append({"facility": "Boston Neurology", "status": "RECRUITING", "city": "Boston", "state": "Massachusetts",
                  "country": "United States", "geoPoint": {"lat": 42.3601, "lon": -71.0589}})
    api.set_studies(studies)
    result = run("--config", str(config))
    assert result.exit_code == 0, result.output
    plain, _ = mail_parts(smtp.messages[-1].message)
    block = plain.split("CHANGED", 1)[1]
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("- ")]
    assert lines[0] == f"- renumbered on ClinicalTrials.gov: {REMODEL_1} is now {NEW_NUMBER}"
    assert any(line.startswith("- title: ") and "(renamed)" in line for line in lines[1:]), lines
    [nearest] = [line for line in lines if line.startswith("- nearest recruiting site is now Boston Neurology")]
    assert nearest.endswith("Springfield, MA (129 km)"), nearest
    assert " mi" not in "\n".join(lines), lines


def test_a_renumbered_trial_that_was_reported_under_both_numbers_is_one_change(api, smtp, run):
    """The new number matched before and was reported; now it changed too: still one item."""
    studies = world()
    renumber(studies, REMODEL_1, NEW_NUMBER)
    both = world() + [s for s in studies if s["protocolSection"]["identificationModule"]["nctId"] == NEW_NUMBER]
    api.set_studies(both)
    assert run().exit_code == 0
    assert reported(run.state)[NEW_NUMBER] == 1 and reported(run.state)[REMODEL_1] == 1
    protocol(studies, NEW_NUMBER)["identificationModule"]["briefTitle"] += " (renamed)"
    api.set_studies(studies)
    result = run()
    assert result.exit_code == 0, result.output
    assert "btk-boston: 0 new, 1 changed, 0 gone: sent to" in result.stderr
    plain, _ = mail_parts(smtp.messages[-1].message)
    assert plain.count(f"({NEW_NUMBER})") == 1 and "(renamed)" in plain
    assert f"- renumbered on ClinicalTrials.gov: {REMODEL_1} is now {NEW_NUMBER}" in plain
