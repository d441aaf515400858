"""``trialfinder digest``: change detection, delivery over real SMTP, and every failure."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.status import ExitStatus
from trialfinder.store import run_lock

from .conftest import API, load_fixture
from .smtpserver import SMTPServer

STUDIES = f"{API}/studies"
OPEN = '["recruiting", "not-yet-recruiting"]'


def nct(study):
    return study["protocolSection"]["identificationModule"]["nctId"]


class World:
    """What the mocked API holds: the studies a search returns, and every record by ID."""

    def __init__(self, mocked):
        self.search = copy.deepcopy(load_fixture("constructed/search_btk_boston.json")["studies"])
        self.records = {nct(s): s for s in self.search}
        self.fail = 0  # answer the next N requests with 503
        self.calls: list[dict] = []
        mocked.assert_all_requests_are_fired = False
        mocked.add_callback("GET", STUDIES, callback=lambda request: self.answer(request))

    def answer(self, request):
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.calls.append(params)
        if self.fail:
            self.fail -= 1
            return 503, {"Content-Type": "text/plain"}, "Service Unavailable"
        if "filter.ids" in params:
            ids = params["filter.ids"].split(",")
            studies = [self.records[i] for i in ids if i in self.records]
        else:
            studies = self.search
        return 200, {"Content-Type": "application/json"}, json.dumps({"studies": studies, "totalCount": len(studies)})

    def study(self, nct_id):
        return self.records[nct_id]

    def drop(self, nct_id):
        self.search = [s for s in self.search if nct(s) != nct_id]

    def add(self, study):
        self.search.append(study)
        self.records[nct(study)] = study


@pytest.fixture
def world(mocked):
    return World(mocked)


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


def write_config(path: Path, port: int, extra_search: str = "", smtp_extra: str = "", **keys: str) -> Path:
    search = {"name": '"btk-boston"', "drug_class": '"btk"', "near": '"Boston, MA"', "radius": '"100mi"',
              "recipients": '["nurse@example.org", "Family <family@example.org>"]'}
    search.update(keys)
    body = "\n".join(f"{k} = {v}" for k, v in search.items())
    path.write_text(
        f'state = "{path.parent / "state.db"}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'from = "MS trial alerts <alerts@example.org>"\n{smtp_extra}\n'
        f"[[search]]\n{body}\n{extra_search}\n"
    )
    return path


@pytest.fixture
def config(tmp_path, smtp):
    return write_config(tmp_path / "config.toml", smtp.port)


def digest(config_path: Path, *args: str):
    return CliRunner().invoke(cli, ["digest", "--config", str(config_path), "--api-url", API, *args],
                              catch_exceptions=False)


def only_message(smtp):
    assert len(smtp.messages) == 1
    return smtp.messages[0]


def parts(message):
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    return plain, html


def reported(config_path: Path) -> dict[str, int]:
    db = sqlite3.connect(config_path.parent / "state.db")
    return dict(db.execute("SELECT nct_id, active FROM reported"))


def test_first_run_reports_every_match_as_new(world, smtp, config):
    result = digest(config)
    assert result.exit_code == 0, result.output
    got = only_message(smtp)
    assert got.sender == "alerts@example.org"
    assert sorted(got.recipients) == ["family@example.org", "nurse@example.org"]
    msg = got.message
    assert msg["Subject"] == "trialfinder: 3 new MS trials near Boston, MA"
    assert msg["From"] == "MS trial alerts <alerts@example.org>"
    assert msg["To"] == "nurse@example.org, Family <family@example.org>"
    assert msg["Date"] and msg["Message-ID"].endswith("@example.org>")
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = parts(msg)
    assert "NEW TO THIS SEARCH" in plain
    assert "1. PERSEUS (NCT04458051)" in plain
    assert "tolebrutinib · phase 3 · Recruiting · nearest site: Massachusetts General Hospital, Boston, MA, 0.6 mi (2 within 100 mi)" in plain
    assert "new to this search (first posted" in plain
    assert "https://clinicaltrials.gov/study/NCT04458051" in plain
    assert '<a href="https://clinicaltrials.gov/study/NCT04458051"><b>PERSEUS</b></a>' in html
    assert reported(config) == {"NCT04458051": 1, "NCT07299019": 1, "NCT05147220": 1}
    assert "btk-boston: 3 new, 0 changed, 0 gone: sent to" in result.stderr


def test_a_region_digest_reports_trials_with_a_site_there(world, smtp, tmp_path):
    config = write_config(tmp_path / "config.toml", smtp.port, near='"MA"')
    config.write_text(config.read_text().replace('radius = "100mi"\n', ""))
    result = digest(config)
    assert result.exit_code == 0, result.output
    msg = only_message(smtp).message
    assert msg["Subject"] == "trialfinder: 3 new MS trials in Massachusetts"
    plain, _ = parts(msg)
    assert "nearest site" not in plain
    assert "· site: Massachusetts General Hospital, Boston, MA (1 in the region)" in plain
    assert world.calls[0]["query.locn"] == 'AREA[LocationState]"Massachusetts"'
    assert "state=Massachusetts" in plain


def test_config_check_notes_an_ambiguous_region(tmp_path):
    config = write_config(tmp_path / "config.toml", 25, near='"GA"')
    config.write_text(config.read_text().replace('radius = "100mi"\n', ""))
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "note: search 'btk-boston': 'GA' is read as the US state Georgia" in result.stderr
    assert "with a site in Georgia" in result.stdout


def test_second_run_without_change_sends_nothing(world, smtp, config):
    digest(config)
    result = digest(config)
    assert result.exit_code == 0
    assert len(smtp.messages) == 1
    assert "no e-mail" in result.stderr


def test_new_trial(world, smtp, config):
    digest(config)
    extra = copy.deepcopy(world.study("NCT04458051"))
    extra["protocolSection"]["identificationModule"].update(nctId="NCT04410978", acronym="GEMINI 1")
    world.add(extra)
    digest(config)
    msg = smtp.messages[-1].message
    assert msg["Subject"] == "trialfinder: 1 new MS trial near Boston, MA"
    plain, _ = parts(msg)
    assert "GEMINI 1 (NCT04410978)" in plain and "PERSEUS" not in plain


def test_status_change(world, smtp, tmp_path):
    config = write_config(tmp_path / "c.toml", smtp.port, status=OPEN)
    digest(config)
    assert "NCT07067463" in parts(smtp.messages[0].message)[0]
    study = world.study("NCT07067463")
    study["protocolSection"]["statusModule"]["overallStatus"] = "RECRUITING"
    for site in study["protocolSection"]["contactsLocationsModule"]["locations"]:
        site["status"] = "RECRUITING"
    digest(config)
    msg = smtp.messages[-1].message
    assert msg["Subject"] == "trialfinder: 1 changed MS trial near Boston, MA"
    plain, _ = parts(msg)
    assert "- status: Not yet recruiting → Recruiting" in plain


def test_new_nearby_site(world, smtp, config):
    digest(config)
    sites = world.study("NCT05147220")["protocolSection"]["contactsLocationsModule"]["locations"]
    sites.append({"facility": "Lahey Clinic", "city": "Burlington", "state": "Massachusetts", "country": "United States",
                  "status": "RECRUITING", "geoPoint": {"lat": 42.4848, "lon": -71.2006}})
    digest(config)
    plain, _ = parts(smtp.messages[-1].message)
    assert "- new site in range: Lahey Clinic, Burlington, MA (11 mi, recruiting)" in plain
    assert ("- nearest recruiting site is now Lahey Clinic, Burlington, MA (11 mi); "
            "was Novartis Investigative Site, Springfield, MA (80 mi)") in plain


def test_trial_that_stopped_recruiting_drops_out_with_reason(world, smtp, config):
    digest(config)
    world.drop("NCT05147220")
    world.study("NCT05147220")["protocolSection"]["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    result = digest(config)
    assert result.exit_code == 0
    msg = smtp.messages[-1].message
    assert msg["Subject"] == "trialfinder: 1 no longer matching MS trial near Boston, MA"
    plain, _ = parts(msg)
    assert "NO LONGER MATCHING" in plain
    assert "- now active not recruiting" in plain
    assert world.calls[-1]["filter.ids"] == "NCT05147220"
    assert reported(config)["NCT05147220"] == 0
    # Not reported again next time.
    digest(config)
    assert len(smtp.messages) == 2


def test_withdrawn_nearby_site_explains_the_drop(world, smtp, config):
    digest(config)
    world.drop("NCT04458051")
    for site in world.study("NCT04458051")["protocolSection"]["contactsLocationsModule"]["locations"]:
        if site["city"] in ("Boston", "Providence"):
            site["status"] = "WITHDRAWN"
    digest(config)
    plain, _ = parts(smtp.messages[-1].message)
    assert "- the Massachusetts General Hospital, Boston, MA site is now withdrawn" in plain


def test_failed_fetch_reports_nothing_and_changes_nothing(world, smtp, config, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRIES", "2")
    monkeypatch.setattr("time.sleep", lambda s: None)
    digest(config)
    world.drop("NCT05147220")
    world.fail = 2
    result = digest(config)
    assert result.exit_code == ExitStatus.ERROR
    assert "Error: search 'btk-boston': GET https://ctgov.test/api/v2/studies: HTTP 503" in result.stderr
    assert len(smtp.messages) == 1
    assert reported(config)["NCT05147220"] == 1
    # The next good run reports the drop once.
    assert digest(config).exit_code == 0
    assert "NO LONGER MATCHING" in parts(smtp.messages[-1].message)[0]


def test_failed_lookup_of_dropped_trials_reports_nothing(world, smtp, config, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRIES", "1")
    digest(config)
    world.drop("NCT05147220")
    original = world.answer

    def fail_lookups(request):
        if "filter.ids" in request.url:
            return 500, {}, "lookup failed"
        return original(request)

    world.answer = fail_lookups
    result = digest(config)
    assert result.exit_code == ExitStatus.ERROR
    assert len(smtp.messages) == 1 and reported(config)["NCT05147220"] == 1


def test_smtp_failure_keeps_state_and_next_run_resends(world, smtp, config):
    smtp.handler.reject_with = "451 4.3.0 mailbox busy, try later"
    result = digest(config)
    assert result.exit_code == ExitStatus.ERROR
    assert "Error: search 'btk-boston': the mail server at 127.0.0.1:" in result.stderr
    assert "451 4.3.0 mailbox busy" in result.stderr
    assert "Traceback" not in result.output
    assert reported(config) == {}
    smtp.handler.reject_with = None
    assert digest(config).exit_code == 0
    assert only_message(smtp).message["Subject"] == "trialfinder: 3 new MS trials near Boston, MA"


def test_smtp_server_down_is_exit_1(world, tmp_path):
    from .smtpserver import free_port

    config = write_config(tmp_path / "c.toml", free_port())
    result = digest(config)
    assert result.exit_code == ExitStatus.ERROR
    assert "the mail server at 127.0.0.1:" in result.stderr and "refused the connection" in result.stderr
    assert "ConnectionRefusedError" not in result.stderr
    assert reported(config) == {}


def test_overlapping_runs_do_not_both_send(world, smtp, config):
    with run_lock(config.parent / "state.db"):
        result = digest(config)
    assert result.exit_code == ExitStatus.ERROR
    assert "another 'trialfinder digest' is running" in result.stderr
    assert smtp.messages == []
    assert digest(config).exit_code == 0 and len(smtp.messages) == 1


def test_dry_run_prints_and_changes_nothing(world, smtp, config):
    result = digest(config, "--dry-run")
    assert result.exit_code == 0
    assert "Subject: trialfinder: 3 new MS trials near Boston, MA" in result.stdout
    assert smtp.messages == []
    assert not (config.parent / "state.db").exists()


def test_dry_run_after_a_real_run_shows_news_without_recording_it(world, smtp, config):
    digest(config)
    world.drop("NCT05147220")
    for _ in range(2):
        result = digest(config, "--dry-run")
        assert "Subject: trialfinder: 1 no longer matching MS trial near Boston, MA" in result.stdout
    assert reported(config)["NCT05147220"] == 1
    assert len(smtp.messages) == 1


def test_dry_run_output_writes_eml(world, smtp, config, tmp_path):
    result = digest(config, "--dry-run", "--output", str(tmp_path / "out"))
    assert result.exit_code == 0
    eml = (tmp_path / "out" / "btk-boston.eml").read_bytes()
    assert b"multipart/alternative" in eml
    assert smtp.messages == []


def test_baseline_records_without_sending(world, smtp, config):
    result = digest(config, "--baseline")
    assert result.exit_code == 0
    assert "recorded 3 current matches" in result.stderr
    assert smtp.messages == []
    assert digest(config).exit_code == 0
    assert smtp.messages == []


def test_send_empty(world, smtp, tmp_path):
    config = write_config(tmp_path / "c.toml", smtp.port, send_empty="true")
    digest(config, "--baseline")
    digest(config)
    msg = only_message(smtp).message
    assert msg["Subject"] == "trialfinder: no news: MS trials near Boston, MA"
    assert "Nothing new or changed" in parts(msg)[0]


def test_search_selection_and_one_failing_search_does_not_stop_the_others(world, smtp, tmp_path, mocked, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRIES", "1")
    other = '\n[[search]]\nname = "lyon"\ncondition = "MS"\nnear = "Lyon, France"\nrecipients = ["a@example.org"]\n'
    config = write_config(tmp_path / "c.toml", smtp.port, extra_search=other)
    original = world.answer

    def fail_lyon(request):
        return (500, {}, "down") if "45.7" in request.url else original(request)

    world.answer = fail_lyon
    result = digest(config)
    assert result.exit_code == ExitStatus.ERROR
    assert "Error: search 'lyon'" in result.stderr
    assert only_message(smtp).message["Subject"].endswith("near Boston, MA")
    result = digest(config, "--search", "nope")
    assert result.exit_code == ExitStatus.USAGE and "no saved search named 'nope'" in result.stderr


def test_cap_defers_the_rest_to_the_next_digest(world, smtp, config, monkeypatch):
    monkeypatch.setattr("trialfinder.digest.MAX_ITEMS", 2)
    digest(config)
    plain, _ = parts(smtp.messages[0].message)
    assert "1 more item did not fit" in plain
    assert len(reported(config)) == 2
    digest(config)
    assert smtp.messages[1].message["Subject"] == "trialfinder: 1 new MS trial near Boston, MA"


def test_html_escapes_api_text(mocked, smtp, tmp_path):
    page = load_fixture("constructed/hostile_study.json")
    mocked.get(STUDIES, json=page)
    config = write_config(tmp_path / "c.toml", smtp.port, drug_class='""')
    assert digest(config).exit_code == 0
    _, html = parts(only_message(smtp).message)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Boston</b>" not in html
    assert "\x1b" not in html


def test_login_with_password_from_environment(world, tmp_path, monkeypatch):
    with pytest.warns(UserWarning, match="AUTH"), SMTPServer(credentials=("alerts", "s3cret")) as server:
        config = write_config(tmp_path / "c.toml", server.port,
                              smtp_extra='username = "alerts"\npassword_env = "TF_TEST_PW"')
        monkeypatch.setenv("TF_TEST_PW", "wrong")
        result = digest(config)
        assert result.exit_code == ExitStatus.ERROR and "refused the login for alerts" in result.stderr
        assert "wrong" not in result.output
        monkeypatch.setenv("TF_TEST_PW", "s3cret")
        assert digest(config).exit_code == 0
        assert len(server.messages) == 1


def test_missing_password_variable_is_a_config_error(world, smtp, tmp_path):
    config = write_config(tmp_path / "c.toml", smtp.port, smtp_extra='username = "a"\npassword_env = "TF_UNSET_PW"')
    result = digest(config)
    assert result.exit_code == ExitStatus.USAGE
    assert "TF_UNSET_PW" in result.stderr
    assert world.calls == []


# -- TLS: certificates are verified by default ------------------------------------


@pytest.fixture
def tls_smtp(certificate):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    with SMTPServer(tls_context=context) as server:
        yield server


def test_starttls_refuses_an_untrusted_certificate(world, tls_smtp, tmp_path):
    config = write_config(tmp_path / "c.toml", tls_smtp.port)
    config.write_text(config.read_text().replace('security = "none"', 'security = "starttls"'))
    result = digest(config)
    assert result.exit_code == ExitStatus.ERROR
    assert "failed: CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert tls_smtp.messages == [] and reported(config) == {}


def test_starttls_with_a_trusted_ca_file_delivers(world, tls_smtp, certificate, tmp_path):
    config = write_config(tmp_path / "c.toml", tls_smtp.port, smtp_extra=f'ca_file = "{certificate[0]}"')
    config.write_text(config.read_text().replace('security = "none"', 'security = "starttls"'))
    assert digest(config).exit_code == 0
    assert len(tls_smtp.messages) == 1


def test_unusable_state_path_is_one_line_exit_2(world, smtp, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    config = write_config(tmp_path / "c.toml", smtp.port)
    config.write_text(config.read_text().replace(f'state = "{tmp_path / "state.db"}"', f'state = "{blocker}/state.db"'))
    result = digest(config)
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr.startswith("Error: cannot create lock file")
    assert len(result.stderr.strip().splitlines()) == 1
    assert smtp.messages == []


def test_a_country_digest_subject_reads_as_a_sentence(tmp_path):
    from trialfinder.config import load_config
    from trialfinder.digest import Digest
    from trialfinder.mail import subject

    config = write_config(tmp_path / "config.toml", 2525, near='"UK"')
    config.write_text(config.read_text().replace('radius = "100mi"\n', ""))
    saved = load_config(config).searches[0]
    assert subject(Digest(saved, [], [], [], 0, None, {}, 0)).endswith("MS trials in the United Kingdom")
