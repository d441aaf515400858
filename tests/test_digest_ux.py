"""A digest a nurse can act on, and digest errors in plain words (issue 9).

Against real components: the API stand-in (tests/fakeapi.py) over loopback, the
loopback SMTP server (aiosmtpd), a real SQLite state file, and for the read-only
state directory the installed command in a subprocess.
"""

from __future__ import annotations

import contextlib
import os
import re
import ssl
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trialfinder.actionable import CONTACT_FIELDS
from trialfinder.cli import cli
from trialfinder.status import ExitStatus

from .conftest import skip_here
from .e2e_support import (
    HOSTILE,
    ORELA_SPMS,
    PERSEUS,
    REMODEL_1,
    cli_env,
    hostile_world,
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
from .smtpserver import Handler, SMTPServer, free_port

CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b|\[Errno|SMTP[A-Z][a-z]")


@pytest.fixture
def smtp():
    with SMTPServer() as mail:
        yield mail


@pytest.fixture
def config(tmp_path, smtp):
    return write_config(tmp_path / "config.toml", smtp.port)


def run(config: Path, api: FakeCTGov, *args: str) -> Any:
    return CliRunner().invoke(cli, ["digest", "--config", str(config), "--api-url", api.url, *args],
                              catch_exceptions=False)


def state_of(config: Path) -> Path:
    return config.parent / "state.db"


def one_error_line(stderr: str) -> str:
    """The one ``Error:`` line of a failed digest: capital E, no exception class names."""
    lines = [line for line in stderr.splitlines() if line.startswith(("Error", "error"))]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    assert not CLASS_NAME.search(lines[0]), lines[0]
    assert "Traceback" not in stderr
    return lines[0]


# == the digest a nurse can act on ===========================================================


def item_block(plain: str, nct_id: str) -> str:
    """The lines of one item of the plain-text part, from its title to its link."""
    lines = plain.splitlines()
    start = next(i for i, line in enumerate(lines) if f"({nct_id})" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("https://clinicaltrials.gov/study/"))
    return "\n".join(lines[start : end + 1])


def test_gone_item_shows_the_trial_as_it_is_now_not_as_it_was(api, smtp, config):
    assert run(config, api).exit_code == 0
    studies = world()
    protocol(studies, REMODEL_1)["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    for site in protocol(studies, PERSEUS)["contactsLocationsModule"]["locations"]:
        if site["city"] in ("Boston", "Providence"):
            site["status"] = "WITHDRAWN"
    api.set_studies(studies)
    result = run(config, api)
    assert result.exit_code == 0, result.output
    plain, html = mail_parts(smtp.messages[-1].message)

    remodel = item_block(plain, REMODEL_1)
    assert "remibrutinib · phase 3 · Active not recruiting" in remodel, remodel
    assert "- now active not recruiting" in remodel
    assert "Recruiting ·" not in remodel and "nearest site" not in remodel and "80 mi" not in remodel

    perseus = item_block(plain, PERSEUS)
    assert "- the Massachusetts General Hospital, Boston, MA site is now withdrawn" in perseus, perseus
    assert "nearest site" not in perseus, perseus
    # The same in the HTML part.
    assert "nearest site: Massachusetts General Hospital" not in html
    assert "Active not recruiting" in html


def test_each_new_item_gives_contact_age_and_sex_and_link(api, smtp, config):
    result = run(config, api)
    assert result.exit_code == 0, result.output
    plain, html = mail_parts(smtp.messages[0].message)
    perseus = item_block(plain, PERSEUS)
    assert "   Age and sex: 18 years to 55 years, all sexes" in perseus, perseus
    # The nearest open site is MGH: its own coordinator, not the Warsaw one listed first.
    assert ("   Contact: Boston Study Coordinator, 555-0112, mgh-ms-trials@example.org "
            "(site: Massachusetts General Hospital, Boston, MA)") in perseus, perseus
    assert perseus.endswith("https://clinicaltrials.gov/study/NCT04458051")
    assert "Age and sex: 18 years and over, all sexes" in item_block(plain, ORELA_SPMS)
    assert ("Contact: Site Coordinator Cambridge, 555-0151, icp022-naspms-cambridge@example.org "
            "(site: Research Site, Cambridge, MA)") in item_block(plain, ORELA_SPMS)
    assert '<a href="tel:5550112">555-0112</a>' in html
    assert '<a href="mailto:mgh-ms-trials@example.org">mgh-ms-trials@example.org</a>' in html
    assert '<a href="https://clinicaltrials.gov/study/NCT04458051">https://clinicaltrials.gov/study/NCT04458051</a>' in html

    # Fetched once, for the shown trials only, with only the fields it needs.
    [lookup] = [r for r in api.requests if "filter.ids" in r.params]
    assert sorted(lookup.params["filter.ids"].split(",")) == sorted([PERSEUS, ORELA_SPMS, REMODEL_1])
    assert lookup.params["fields"] == ",".join(CONTACT_FIELDS)


def test_without_a_site_contact_the_central_contact_is_given(api, smtp, config):
    studies = world()  # PERSEUS is the full record, with a central contact
    for site in protocol(studies, PERSEUS)["contactsLocationsModule"]["locations"]:
        site["contacts"] = [{"name": "Dr Principal", "role": "PRINCIPAL_INVESTIGATOR"}]  # nobody to call
    api.set_studies(studies)
    assert run(config, api).exit_code == 0
    plain, _ = mail_parts(smtp.messages[0].message)
    assert ("Contact: Trial Transparency Team, 555-0100, trials@example.org (central contact for the study)"
            in item_block(plain, PERSEUS))


def test_no_contact_at_all_says_so(api, smtp, config):
    studies = world()
    module = protocol(studies, ORELA_SPMS)["contactsLocationsModule"]
    for site in module["locations"]:
        site.pop("contacts", None)
    api.set_studies(studies)
    assert run(config, api).exit_code == 0
    plain, _ = mail_parts(smtp.messages[0].message)
    assert "Contact: none listed on ClinicalTrials.gov" in item_block(plain, ORELA_SPMS)


def test_a_run_with_no_news_fetches_no_contacts(api, smtp, config):
    assert run(config, api).exit_code == 0
    api.reset_log()
    result = run(config, api)
    assert "no e-mail" in result.stderr
    assert [r for r in api.requests if "filter.ids" in r.params] == []
    assert api.requests and not [r for r in api.requests if "Contact" in r.params.get("fields", "")]


def test_subject_counts_what_this_email_holds_and_what_is_to_come(api, smtp, tmp_path):
    config = write_config(tmp_path / "c.toml", smtp.port, limit="2")
    result = run(config, api)
    assert result.exit_code == 0
    assert "btk-boston: 2 new, 0 changed, 0 gone (1 more in the next digest): sent to" in result.stderr
    first = smtp.messages[0].message
    assert first["Subject"] == "trialfinder: 2 of 3 new MS trials near Boston, MA, the rest in the next digest"
    plain, _ = mail_parts(first)
    assert "3 new, 0 changed, 0 no longer matching (first digest); 3 trials match now." in plain
    assert "This e-mail holds the first 2; the other 1 follows in the next digest." in plain
    assert "1 more item did not fit in this e-mail; it follows in the next digest." in plain
    assert run(config, api).exit_code == 0
    assert smtp.messages[1].message["Subject"] == "trialfinder: 1 new MS trial near Boston, MA"

    config = write_config(tmp_path / "one.toml", smtp.port, limit="1")
    config.write_text(config.read_text().replace("state.db", "one.db"))
    assert run(config, api).exit_code == 0
    assert smtp.messages[2].message["Subject"] == (
        "trialfinder: 1 of 3 new MS trials near Boston, MA, the rest in the next digests")


# -- the HTML part: well-formed, phone-ready, every API value escaped -------------------------

VOID = {"meta", "br", "hr", "img", "input", "link"}
ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "div", "h1", "h2", "p", "ol", "ul", "li", "a",
                "b", "span", "br", "hr"}
ALLOWED_ATTRS = {"lang", "charset", "name", "content", "style", "href"}


class StrictHTML(HTMLParser):
    """Fails on any unclosed, mismatched or unexpected tag or attribute; keeps the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []
        self.meta: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, (tag, name, value)
            if name == "href":
                assert value and value.startswith(("https://", "mailto:", "tel:")), value
                self.hrefs.append(value)
        if tag == "meta":
            self.meta.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, tag
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_decl(self, decl: str) -> None:
        assert decl.lower() == "doctype html", decl

    def unknown_decl(self, data: str) -> None:
        raise AssertionError(data)

    def handle_pi(self, data: str) -> None:
        raise AssertionError(data)


def parse_strict(html: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], parser.stack
    return parser


def test_html_is_well_formed_with_a_viewport(api, smtp, config):
    assert run(config, api).exit_code == 0
    _, html = mail_parts(smtp.messages[0].message)
    parsed = parse_strict(html)
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in parsed.meta
    assert html.startswith("<!DOCTYPE html>")
    assert "Boston Study Coordinator" in "".join(parsed.text)


HOSTILE_CONTACT = {
    "name": '<img src=x onerror="alert(1)">Dr Evil\x1b[31m',
    "role": "CONTACT",
    "phone": '555"><script>alert(2)</script>',
    "email": 'x@y.org"><script>alert(3)</script>',
}


def hostile_with_contacts() -> list[dict[str, Any]]:
    studies = hostile_world()
    module = studies[0]["protocolSection"]["contactsLocationsModule"]
    for site in module["locations"]:
        site["contacts"] = [dict(HOSTILE_CONTACT)]
    module["centralContacts"] = [dict(HOSTILE_CONTACT)]
    return studies


def test_html_escapes_every_api_value_including_contacts(api, smtp, tmp_path):
    api.set_studies(hostile_with_contacts())
    config = write_config(tmp_path / "hostile.toml", smtp.port, drug_class=None)
    assert run(config, api).exit_code == 0
    plain, html = mail_parts(smtp.messages[0].message)
    assert HOSTILE in plain
    parsed = parse_strict(html)  # a <script> or <img> from the API would fail here
    text = "".join(parsed.text)
    assert "<script>alert(1)</script>" in text  # the acronym, shown as text
    assert '<img src=x onerror="alert(1)">Dr Evil' in text  # the contact's name, shown as text
    assert "\x1b" not in html and "\x1b" not in plain
    # Neither the phone nor the e-mail looks like one: no tel:/mailto: link is made of them.
    assert not [h for h in parsed.hrefs if h.startswith(("tel:", "mailto:"))]


# == digest errors in plain words ==============================================================


def test_refused_connection_is_one_plain_line(api, tmp_path):
    port = free_port()
    config = write_config(tmp_path / "c.toml", port)
    result = run(config, api)
    assert result.exit_code == ExitStatus.ERROR
    line = one_error_line(result.stderr)
    assert f"the mail server at 127.0.0.1:{port} refused the connection" in line, line
    assert line.endswith("nothing recorded, it is sent again next run")
    assert reported(state_of(config)) == {}


def test_unknown_mail_host_is_one_plain_line(api, tmp_path):
    config = write_config(tmp_path / "c.toml", 25)
    config.write_text(config.read_text().replace('host = "127.0.0.1"', 'host = "no-such-host.invalid"'))
    result = run(config, api)
    assert result.exit_code == ExitStatus.ERROR
    line = one_error_line(result.stderr)
    assert "cannot find the mail server 'no-such-host.invalid'" in line, line


@contextlib.contextmanager
def implicit_tls_server(certificate) -> Iterator[int]:
    """An SMTP server that speaks TLS from the first byte (like port 465)."""
    from aiosmtpd.controller import Controller

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def set_security(config: Path, security: str, extra: str = "") -> None:
    config.write_text(config.read_text().replace('security = "none"', f'security = "{security}"\n{extra}'))


def test_ssl_on_a_plain_port_hints_at_starttls(api, smtp, config):
    set_security(config, "ssl")
    result = run(config, api)
    assert result.exit_code == ExitStatus.ERROR
    line = one_error_line(result.stderr)
    assert f"TLS with the mail server at 127.0.0.1:{smtp.port} failed: WRONG_VERSION_NUMBER" in line, line
    assert 'security = "ssl" expects TLS from the first byte' in line
    assert 'try security = "starttls"' in line
    assert smtp.messages == []


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_plain_or_starttls_on_an_implicit_tls_port_hints_at_ssl(api, tmp_path, certificate, security):
    with implicit_tls_server(certificate) as port:
        config = write_config(tmp_path / "c.toml", port)
        config.write_text(config.read_text().replace("timeout = 10", "timeout = 1"))
        set_security(config, security)
        result = run(config, api)
    assert result.exit_code == ExitStatus.ERROR
    line = one_error_line(result.stderr)
    assert f"the mail server at 127.0.0.1:{port} did not greet within 1 s" in line, line
    assert 'expects TLS from the first byte (usually 465), set security = "ssl"' in line


def test_starttls_not_offered_says_so(api, smtp, config):
    set_security(config, "starttls")
    result = run(config, api)
    line = one_error_line(result.stderr)
    assert f"the mail server at 127.0.0.1:{smtp.port} does not offer STARTTLS" in line, line


def test_untrusted_certificate_says_what_to_do(api, tmp_path, certificate):
    with implicit_tls_server(certificate) as port:
        config = write_config(tmp_path / "c.toml", port)
        set_security(config, "ssl")
        result = run(config, api)
    line = one_error_line(result.stderr)
    assert "failed: CERTIFICATE_VERIFY_FAILED, self-signed certificate" in line, line
    assert "set smtp.ca_file" in line


def test_refused_login_is_plain(api, tmp_path, monkeypatch):
    with pytest.warns(UserWarning, match="AUTH"), SMTPServer(credentials=("alerts", "s3cret")) as server:
        config = write_config(tmp_path / "c.toml", server.port)
        config.write_text(config.read_text().replace(
            'security = "none"', 'security = "none"\nusername = "alerts"\npassword_env = "TF_UX_PW"'))
        monkeypatch.setenv("TF_UX_PW", "wrong")
        result = run(config, api)
    line = one_error_line(result.stderr)
    assert f"the mail server at 127.0.0.1:{server.port} refused the login for alerts (535" in line, line
    assert "wrong" not in result.output


def test_failed_fetch_error_has_a_capital_e(api, smtp, config):
    api.add_fault("status", times=None, status=503)
    result = run(config, api)
    assert result.exit_code == ExitStatus.ERROR
    line = one_error_line(result.stderr)
    assert line.startswith(f"Error: search 'btk-boston': GET {api.url}/studies: HTTP 503"), line


# -- the state directory: read-only ------------------------------------------------------------


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make ``directory`` refuse new files, even to root (chattr +i), until the block ends."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True, text=True)
        if done.returncode != 0:
            skip_here(f"cannot make a directory immutable here: {done.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
    else:
        mode = directory.stat().st_mode
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(mode)


@pytest.fixture
def tf(api, tmp_path):
    require_installed_command()

    def call(*args: str) -> Any:
        return run_cli(args, cli_env(api.url, tmp_path / "env", tries=2, timeout=2.0))
    return call


def stopped_recruiting() -> list[dict[str, Any]]:
    studies = world()
    protocol(studies, REMODEL_1)["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    return studies


def test_read_only_state_directory_is_exit_1_and_dry_run_still_works(api, smtp, tf, tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    config = write_config(folder / "config.toml", smtp.port)
    first = tf("digest", "--config", str(config))
    assert first.returncode == 0, first
    before = state_rows(state_of(config))
    files = sorted(p.name for p in folder.iterdir())
    api.set_studies(stopped_recruiting())

    with read_only(folder):
        dry = tf("digest", "--config", str(config), "--dry-run")
        real = tf("digest", "--config", str(config))
        files_after = sorted(p.name for p in folder.iterdir())

    # A dry run changes nothing, so a read-only directory does not stop it.
    assert dry.returncode == 0, dry
    assert "Subject: trialfinder: 1 no longer matching MS trial near Boston, MA" in dry.stdout
    # A real run cannot record what it sends: exit 1, one line, nothing sent.
    assert real.returncode == ExitStatus.ERROR, real
    line = one_error_line(real.stderr)
    assert str(folder) in line and "must be writable" in line, line
    assert len(smtp.messages) == 1
    assert files_after == files
    assert state_rows(state_of(config)) == before


def test_dry_run_in_a_read_only_directory_without_a_state_file(api, smtp, tf, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    config = write_config(tmp_path / "config.toml", smtp.port)
    config.write_text(config.read_text().replace(str(tmp_path / "state.db"), str(folder / "state.db")))
    with read_only(folder):
        dry = tf("digest", "--config", str(config), "--dry-run")
        real = tf("digest", "--config", str(config))
    assert dry.returncode == 0, dry
    assert "Subject: trialfinder: 3 new MS trials near Boston, MA" in dry.stdout
    assert real.returncode == ExitStatus.ERROR, real
    one_error_line(real.stderr)
    assert list(folder.iterdir()) == [] and smtp.messages == []


def test_config_check_warns_about_an_unset_password_and_a_read_only_state_directory(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    folder.mkdir()
    config = write_config(folder / "config.toml", 2525)
    config.write_text(config.read_text().replace(
        'security = "none"', 'security = "none"\nusername = "alerts"\npassword_env = "TF_UX_CHECK_PW"'))
    monkeypatch.delenv("TF_UX_CHECK_PW", raising=False)
    check = ["config", "check", "--config", str(config)]

    result = CliRunner().invoke(cli, check, catch_exceptions=False)
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: smtp.password_env: the environment variable TF_UX_CHECK_PW is not set here; "
        "'digest' will stop with an error until it is (set it where the scheduler runs)"], result.stderr
    assert result.stdout.rstrip().endswith(f"{config}: OK")

    with read_only(folder):
        result = CliRunner().invoke(cli, check, catch_exceptions=False)
    assert result.exit_code == 0
    assert f"warning: state: the directory {folder} is not writable" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("warning:")]) == 2

    monkeypatch.setenv("TF_UX_CHECK_PW", "set")
    result = CliRunner().invoke(cli, check, catch_exceptions=False)
    assert "warning:" not in result.stderr and result.stdout.rstrip().endswith(f"{config}: OK")
