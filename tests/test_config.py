"""Configuration files: ``config init``, ``config check``, and every kind of bad file."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.config import load_config, valid_address
from trialfinder.status import ExitStatus

GOOD = """
state = "{tmp}/state.db"
[smtp]
host = "smtp.example.org"
username = "alerts@example.org"
password_env = "TRIALFINDER_SMTP_PASSWORD"
from = "MS trial alerts <alerts@example.org>"

[[search]]
name = "btk-boston"
drug_class = "btk"
near = "Boston, MA"
radius = "150mi"
status = ["recruiting", "not-yet-recruiting"]
phase = [2, "3"]
age = 45
sex = "female"
recipients = ["nurse@example.org"]
"""


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_good_file_parses_into_the_same_query_as_search(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(GOOD.format(tmp=tmp_path))
    config = load_config(path)
    assert config.smtp.port == 587 and config.smtp.security == "starttls"
    saved = config.searches[0]
    assert saved.query.statuses == ("RECRUITING", "NOT_YET_RECRUITING")
    assert saved.query.phases == ("PHASE2", "PHASE3")
    assert saved.query.radius.miles == 150
    assert saved.query.place.name.startswith("Boston, Massachusetts")
    assert config.state == tmp_path / "state.db"


def test_init_writes_an_example_that_checks(tmp_path, monkeypatch):
    path = tmp_path / "conf" / "config.toml"
    result = invoke("config", "init", "--config", str(path))
    assert result.exit_code == 0 and path.exists()
    assert invoke("config", "init", "--config", str(path)).exit_code == ExitStatus.USAGE
    check = invoke("config", "check", "--config", str(path))
    assert check.exit_code == 0, check.output
    assert "btk-boston: recruiting or not yet recruiting multiple sclerosis trials of BTK inhibitors" in check.stdout
    assert check.stdout.strip().endswith(": OK")


def test_config_path_from_environment_then_user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_CONFIG", str(tmp_path / "x.toml"))
    assert invoke("config", "path").stdout.strip() == str(tmp_path / "x.toml")
    monkeypatch.delenv("TRIALFINDER_CONFIG")
    assert invoke("config", "path").stdout.strip().endswith("trialfinder/config.toml")


BAD = [
    ("[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\"]\ncolour = \"red\"\n",
     "search 'a'.colour: unknown key"),
    ("[[search]]\nname = \"a\"\n", "search 'a'.recipients: missing"),
    ("[[search]]\nname = \"a\"\nrecipients = [\"not-an-address\"]\n", "'not-an-address' is not an e-mail address"),
    ("[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\\nBcc: x@evil.example\"]\n", "is not an e-mail address"),
    ("[[search]]\nname = \"a\"\nnear = \"Atlantisville, Narnia\"\nrecipients = [\"a@example.org\"]\n",
     "search 'a': unknown place 'Atlantisville, Narnia'"),
    ("[[search]]\nname = \"a\"\nradius = \"50mi\"\nrecipients = [\"a@example.org\"]\n", "--radius needs --near"),
    ("[[search]]\nname = \"a\"\nage = \"forty\"\nrecipients = [\"a@example.org\"]\n",
     "search 'a'.age: must be a whole number of years, not str"),
    ("[[search]]\nname = \"a\"\nsend_empty = \"yes\"\nrecipients = [\"a@example.org\"]\n", "send_empty: must be true or false"),
    ("[[search]]\nname = \"a\"\nage = true\nrecipients = [\"a@example.org\"]\n", "age: must be a whole number of years, not true/false"),
    ("[[search]]\nname = \"a\"\nstatus = [\"recruting\"]\nrecipients = [\"a@example.org\"]\n", "unknown status 'recruting'"),
    ("[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\"]\n[[search]]\nname = \"a\"\nrecipients = [\"b@example.org\"]\n",
     "two searches have this name"),
    ("[[search]]\nname = \"a b/c\"\nrecipients = [\"a@example.org\"]\n", "not a short name"),
    ("smtpp = 1\n[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\"]\n", "smtpp: unknown key"),
    ("[smtp]\nhost = \"h\"\nsecurity = \"tls\"\nfrom = \"a@example.org\"\n[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\"]\n",
     "smtp.security: must be"),
    ("[smtp]\nhost = \"h\"\nport = 70000\nfrom = \"a@example.org\"\n[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\"]\n",
     "smtp.port: 70000 is not a port number"),
    ("[smtp]\nhost = \"h\"\nusername = \"u\"\nfrom = \"a@example.org\"\n[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\"]\n",
     "smtp.password_env: needed with smtp.username"),
    ("[smtp]\nhost = \"h\"\npassword = \"hunter2\"\nfrom = \"a@example.org\"\n[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\"]\n",
     "smtp.password: unknown key"),
    ("[smtp]\nhost = \"h\"\nca_file = \"/nonexistent/ca.pem\"\nfrom = \"a@example.org\"\n[[search]]\nname = \"a\"\nrecipients = [\"a@example.org\"]\n",
     "smtp.ca_file: '/nonexistent/ca.pem' is not a file"),
    ("", "search: no [[search]] defined"),
    ("[[search]\nname = 1", "not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m for _, m in BAD])
def test_bad_files_are_exit_2_naming_file_key_and_reason(tmp_path, mocked, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for args in (["config", "check"], ["digest"]):
        result = invoke(*args, "--config", str(path))
        assert result.exit_code == ExitStatus.USAGE, result.output
        assert result.stderr.startswith(f"Error: {path}: ")
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert len(mocked.calls) == 0  # found before anything was fetched


def test_missing_file(tmp_path):
    result = invoke("config", "check", "--config", str(tmp_path / "none.toml"))
    assert result.exit_code == ExitStatus.USAGE
    assert "no such file (create one with 'trialfinder config init')" in result.stderr


def test_digest_without_smtp_needs_dry_run(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[search]]\nname = "a"\nrecipients = ["a@example.org"]\n')
    result = invoke("digest", "--config", str(path))
    assert result.exit_code == ExitStatus.USAGE
    assert "missing [smtp] table (or use --dry-run)" in result.stderr


@pytest.mark.parametrize("text, ok", [
    ("a@example.org", True), ("Name <a@example.org>", True), ("a@localhost", False),
    ("a@example.org, b@example.org", False), ("a@example.org\r\nBcc: b@x.org", False), ("", False),
])
def test_valid_address(text, ok):
    assert valid_address(text) is ok
