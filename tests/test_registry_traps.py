"""The registry's own traps, end to end: the installed command against the API stand-in
(tests/fakeapi.py), with a real SQLite state and the loopback SMTP server for digests.

- text that is only an NCT ID is sent as ``filter.ids``, so the filters still apply;
- study-level-only statuses (UNKNOWN, ...) are never site statuses;
- data that changes mid-walk (the ``moved`` fault): ``search`` restarts the walk once,
  then answers with a warning; ``digest`` never turns a short walk into "no longer matching";
- a renumbered trial (``NCTIdAlias``) is never reported as gone;
- a trial left out as off-condition is never "no longer matching" noise.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from .datagen import generate_studies
from .e2e_support import (
    BOSTON,
    ORELA_SPMS,
    PERSEUS,
    REMODEL_1,
    Run,
    cli_env,
    find,
    mail_parts,
    protocol,
    reported,
    require_installed_command,
    run_cli,
    state_rows,
    world,
    write_config,
)
from .fakeapi import FakeCTGov
from .smtpserver import SMTPServer

require_installed_command()


@pytest.fixture
def tf(api, tmp_path):
    def run(*args: str) -> Run:
        return run_cli(args, cli_env(api.url, tmp_path))
    return run


@pytest.fixture
def smtp():
    with SMTPServer() as mail:
        yield mail


def ids(run: Run) -> list[str]:
    assert run.returncode == 0, run
    return [t["nct_id"] for t in run.json()]


# == text that is only an NCT ID ============================================================


def test_nct_id_as_term_keeps_the_filters(tf, api):
    # PERSEUS is phase 3. Sent as query.term, the registry would ignore --phase 2 and the
    # place, and return it anyway.
    assert ids(tf("search", "-t", "NCT04458051", "-n", BOSTON, "-p", "2", "-f", "json")) == []
    [sent] = api.requests
    assert sent.params["filter.ids"] == PERSEUS and "query.term" not in sent.params
    assert "filter.advanced" in sent.params and "filter.geo" in sent.params
    assert sent.params["filter.overallStatus"] == "RECRUITING"


@pytest.mark.parametrize("option", ["-t", "-c"])
def test_nct_ids_as_text_find_the_trials_that_pass_the_filters(tf, api, option):
    found = ids(tf("search", option, "nct4458051, NCT05147220", "-n", BOSTON, "-p", "3", "-f", "json"))
    assert found == [PERSEUS, REMODEL_1]
    [sent] = api.requests
    assert sent.params["filter.ids"] == f"{PERSEUS},{REMODEL_1}"
    assert not any(k.startswith("query.") and "NCT" in v.upper() for k, v in sent.params.items())


# == statuses that exist only for whole studies ============================================


def test_unknown_study_is_judged_by_its_own_status_not_its_stale_sites(tf, api):
    studies = world()
    protocol(studies, PERSEUS)["statusModule"]["overallStatus"] = "UNKNOWN"  # sites still say RECRUITING
    api.set_studies(studies)
    data = tf("search", "-d", "btk", "-n", BOSTON, "-s", "unknown", "-f", "json").json()
    assert [t["nct_id"] for t in data] == [PERSEUS]
    nearest = data[0]["nearest_site"]
    assert nearest["status"] == "UNKNOWN" and nearest["city"] == "Boston"
    assert data[0]["sites_in_radius"] == 2  # Boston and Providence; the withdrawn Worcester site is not
    # The normal rule is unchanged: the same study is not recruiting anywhere for -s recruiting.
    assert PERSEUS not in ids(tf("search", "-d", "btk", "-n", BOSTON, "-f", "json"))


# == data that changes mid-walk =============================================================

N_BIG = 2100  # three pages of at most 1000
PAGES = math.ceil(N_BIG / 1000)


def big_world() -> list[dict[str, Any]]:
    """N_BIG MS studies, each recruiting at one site in Boston."""
    studies = generate_studies(N_BIG, seed=5, min_sites=1, max_sites=1)
    rng = random.Random(3)
    for study in studies:
        p = study["protocolSection"]
        p["statusModule"]["overallStatus"] = "RECRUITING"
        p["conditionsModule"]["conditions"] = ["Relapsing Multiple Sclerosis"]
        p["contactsLocationsModule"]["locations"] = [{
            "facility": "Site", "status": "RECRUITING", "city": "Boston", "state": "Massachusetts",
            "country": "United States", "geoPoint": {"lat": 42.36 + rng.random() / 10, "lon": -71.06}}]
    return studies


@pytest.fixture(scope="module")
def big_server():
    with FakeCTGov(big_world()) as api:
        yield api


@pytest.fixture
def big(big_server, tmp_path):
    big_server.clear_faults()
    big_server.reset_log()

    def run(*args: str) -> Run:
        # A generous read timeout: a 1,000-study page from the stand-in on a loaded machine
        # can take over a second, and a retry would add a request the tests count.
        return run_cli(args, cli_env(big_server.url, tmp_path, timeout=15.0))

    yield big_server, run
    big_server.clear_faults()


def test_search_restarts_a_walk_that_came_up_short(big):
    api, run = big
    api.add_fault("moved")  # a study passed on page 1 vanishes before page 2, once
    result = run("search", "-n", BOSTON, "-f", "json")
    assert len(ids(result)) == N_BIG
    assert [r.fault for r in api.requests] == [None, "moved", None] + [None] * PAGES
    assert "warning" not in result.stderr


def test_search_short_twice_answers_with_a_warning(big):
    api, run = big
    api.add_fault("moved", times=None)  # the data keeps changing
    result = run("search", "-n", BOSTON, "-f", "json")
    found = ids(result)
    assert len(found) == N_BIG - (PAGES - 1) and len(set(found)) == len(found)
    assert len(api.requests) == 2 * PAGES
    assert (f"warning: the registry's data changed during the search ({N_BIG - 2:,} of {N_BIG:,} "
            "studies came back, twice); trials may be missing: run it again later") in result.stderr


def digest_config(tmp_path: Path, smtp: SMTPServer, **keys: str | None) -> Path:
    return write_config(tmp_path / "config.toml", smtp.port, **keys)


def test_digest_short_walk_never_reports_trials_as_gone(big, smtp, tmp_path):
    api, run = big
    config = digest_config(tmp_path, smtp, drug_class=None)
    assert run("digest", "--config", str(config), "--baseline").returncode == 0
    state = config.parent / "state.db"
    assert len(reported(state)) == N_BIG
    before = state_rows(state)

    # Short twice: the digest fails, sends nothing and records nothing.
    api.add_fault("moved", times=None)
    failed = run("digest", "--config", str(config))
    assert failed.returncode == 1, failed
    assert failed.stderr.startswith(f"Error: search 'btk-boston': GET {api.url}/studies: the walk ended "
                                    f"after {N_BIG - 2:,} of {N_BIG:,} studies (the data changed mid-walk)")
    assert failed.stderr.rstrip().endswith("; nothing sent, nothing recorded")
    assert smtp.messages == [] and state_rows(state) == before

    # Short once: the restarted walk is whole, and there is no news.
    api.clear_faults()
    api.add_fault("moved")
    api.reset_log()
    quiet = run("digest", "--config", str(config))
    assert quiet.returncode == 0, quiet
    assert "btk-boston: 0 new, 0 changed, 0 gone: no e-mail" in quiet.stderr
    assert smtp.messages == []
    assert [r.fault for r in api.requests][:PAGES] == [None, "moved", None]
    assert all(active == 1 for active in reported(state).values())


# == renumbered trials (NCTIdAlias) ==========================================================

NEW_NUMBER = "NCT06999999"


def renumber(studies: list[dict[str, Any]], old: str, new: str) -> None:
    ident = protocol(studies, old)["identificationModule"]
    ident["nctId"], ident["nctIdAliases"] = new, [old]


@pytest.fixture
def config(tmp_path, smtp):
    return digest_config(tmp_path, smtp)


@pytest.fixture
def state(config):
    return config.parent / "state.db"


@pytest.fixture
def digest(tf, config):
    def run(*args: str) -> Run:
        return tf("digest", "--config", str(config), *args)
    return run


def test_renumbered_trial_is_a_change_not_new_and_gone(api, smtp, digest, state):
    assert digest().returncode == 0
    assert reported(state) == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 1}

    studies = world()
    renumber(studies, REMODEL_1, NEW_NUMBER)
    api.set_studies(studies)
    api.reset_log()
    result = digest()
    assert result.returncode == 0, result
    assert "btk-boston: 0 new, 1 changed, 0 gone: sent to" in result.stderr
    plain, _ = mail_parts(smtp.messages[-1].message)
    assert "NO LONGER MATCHING" not in plain and "NEW TO THIS SEARCH" not in plain
    assert f"- renumbered on ClinicalTrials.gov: {REMODEL_1} is now {NEW_NUMBER}" in plain
    # The look-up by the old number found the study through its alias.
    [lookup] = [r for r in api.requests if "NCTIdAlias" in r.params.get("fields", "")]
    assert lookup.params["filter.ids"] == REMODEL_1
    assert reported(state) == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 0, NEW_NUMBER: 1}

    assert digest().returncode == 0
    assert len(smtp.messages) == 2  # nothing more to say


def test_renumbered_trial_that_stopped_recruiting_is_gone_with_its_reason(api, smtp, digest, state):
    assert digest().returncode == 0
    studies = world()
    renumber(studies, REMODEL_1, NEW_NUMBER)
    protocol(studies, NEW_NUMBER)["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    api.set_studies(studies)
    result = digest()
    assert result.returncode == 0, result
    plain, _ = mail_parts(smtp.messages[-1].message)
    assert f"REMODEL-1 ({REMODEL_1})" in plain and "- now active not recruiting" in plain
    assert "no longer found on ClinicalTrials.gov" not in plain


# == off-condition trials in a digest ========================================================


def scleroderma(studies: list[dict[str, Any]], nct_id: str) -> None:
    """The trial is now about diffuse scleroderma: its condition and, as the registry
    derives it, its condition MeSH term."""
    protocol(studies, nct_id)["conditionsModule"]["conditions"] = ["Scleroderma, Diffuse"]
    find(studies, nct_id)["derivedSection"] = {
        "conditionBrowseModule": {"meshes": [{"id": "D045743", "term": "Scleroderma, Diffuse"}]}}


def test_trial_left_out_as_off_condition_is_not_reported_as_gone(api, smtp, digest, state):
    assert digest().returncode == 0
    studies = world()
    # The registry still matches REMODEL-1 (its title says multiple sclerosis), but the
    # record no longer names it as a condition.
    scleroderma(studies, REMODEL_1)
    api.set_studies(studies)
    result = digest()
    assert result.returncode == 0, result
    assert "btk-boston: 0 new, 0 changed, 0 gone: no e-mail" in result.stderr
    assert ("note: search 'btk-boston': 1 trial reported before is left out from now on, not as no "
            "longer matching: its conditions are not multiple sclerosis.") in result.stderr
    assert reported(state) == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 0}
    # Back on condition: new again, once.
    api.set_studies(world())
    assert digest().returncode == 0
    plain, _ = mail_parts(smtp.messages[-1].message)
    assert "REMODEL-1 (NCT05147220)" in plain and "matches again after dropping out" in plain


def test_digest_notes_trials_left_out_in_the_mail(api, smtp, digest, state):
    studies = world()
    scleroderma(studies, REMODEL_1)
    api.set_studies(studies)
    assert digest().returncode == 0
    plain, _ = mail_parts(smtp.messages[-1].message)
    line = (f"1 trial left out: its conditions (Scleroderma, Diffuse) are not multiple sclerosis "
            f"({REMODEL_1}; include_off_condition = true shows it).")
    assert line in plain
    assert REMODEL_1 not in reported(state)


def test_a_saved_search_can_include_off_condition_trials(api, smtp, tmp_path, tf):
    config = digest_config(tmp_path, smtp, include_off_condition="true")
    studies = world()
    scleroderma(studies, REMODEL_1)
    api.set_studies(studies)
    result = tf("digest", "--config", str(config))
    assert result.returncode == 0, result
    plain, _ = mail_parts(smtp.messages[-1].message)
    assert "REMODEL-1 (NCT05147220)" in plain and "left out" not in plain
    assert reported(config.parent / "state.db") == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 1}


def test_renumbered_trial_now_off_condition_is_retired_quietly(api, smtp, digest, state):
    assert digest().returncode == 0
    studies = world()
    renumber(studies, REMODEL_1, NEW_NUMBER)
    scleroderma(studies, NEW_NUMBER)
    api.set_studies(studies)
    result = digest()
    assert result.returncode == 0, result
    assert "btk-boston: 0 new, 0 changed, 0 gone: no e-mail" in result.stderr
    assert reported(state) == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 0}


# == on condition, through the whole search path ============================================


def test_a_trial_named_only_by_its_mesh_term_is_kept(tf, api):
    """PERSEUS lists "Demyelinating Disease" only; its condition MeSH term (derivedSection,
    fetched as ConditionMeshTerm) is Multiple Sclerosis. Without that term it is left out."""
    studies = world()
    conditions = protocol(studies, PERSEUS)["conditionsModule"]
    conditions["conditions"], conditions["keywords"] = ["Demyelinating Disease"], []
    api.set_studies(studies)
    assert PERSEUS in ids(tf("search", "-d", "btk", "-n", BOSTON, "-f", "json"))
    find(studies, PERSEUS).pop("derivedSection")
    api.set_studies(studies)
    result = tf("search", "-d", "btk", "-n", BOSTON, "-f", "json")
    assert PERSEUS not in ids(result)
    assert ("1 trial left out: its conditions (Demyelinating Disease) are not multiple sclerosis "
            f"({PERSEUS}; --include-off-condition shows it).") in result.stderr
