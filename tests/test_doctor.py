"""``trialfinder doctor``, run as the installed command against the API stand-in and a
loopback SMTP server: healthy, challenged, stalled, a renamed field, mail and config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trialfinder.doctor import used_fields
from trialfinder.query import SEARCH_FIELDS

from . import fake_essie
from .e2e_support import (
    Run,
    cli_env,
    error_line,
    require_installed_command,
    run_cli,
    write_config,
)
from .smtpserver import SMTPServer, free_port

require_installed_command()

API_CHECKS = ["api", "transport", "version", "fields"]


@pytest.fixture
def env(api, tmp_path):
    return cli_env(api.url, tmp_path)


def lines(run: Run) -> dict[str, str]:
    """``{check name: its whole line}`` of the table output."""
    found = {}
    for line in run.stdout.splitlines()[:-1]:
        mark, name, _ = line.split(None, 2)
        found[name] = line
    return found


def marks(run: Run) -> dict[str, str]:
    return {name: line.split()[0] for name, line in lines(run).items()}


def test_healthy_everything_passes(api, env):
    run = run_cli(["doctor"], env)
    assert run.returncode == 0, run
    assert marks(run) == {"config": "–", "places": "✓", "api": "✓", "transport": "✓",
                          "version": "✓", "fields": "✓"}, run
    got = lines(run)
    assert f"{api.url} answers" in got["api"]
    assert "plain HTTP client" in got["transport"] and "browser-like" in got["transport"]
    assert "API 2.0.5, data of 2026-08-19T09:00:06 UTC" in got["version"]
    assert "Boston, Massachusetts, United States" in got["places"]
    assert run.stdout.splitlines()[-1] == "all checks passed"
    assert run.stderr == ""
    # /version through each transport, then one small search projected on every piece used.
    assert [r.path for r in api.requests] == ["/api/v2/version", "/api/v2/version", "/api/v2/studies"]
    search = api.requests[-1].params
    assert search["pageSize"] == "1"
    assert set(search["fields"].split(",")) == set(used_fields()) >= set(SEARCH_FIELDS)


def test_json_output(api, env):
    run = run_cli(["doctor", "-f", "json"], env)
    assert run.returncode == 0, run
    doc = json.loads(run.stdout)
    assert doc["ok"] is True
    assert [c["name"] for c in doc["checks"]] == ["config", "places", *API_CHECKS]
    assert [c["ok"] for c in doc["checks"]] == [None, True, True, True, True, True]


def test_a_challenge_for_plain_clients_passes_through_the_browser_like_transport(api, env):
    api.add_fault("challenge", times=None)
    run = run_cli(["doctor"], env)
    assert run.returncode == 0, run
    transport = lines(run)["transport"]
    assert transport.startswith("✓") and "gets through: curl_cffi (browser-like)" in transport
    assert "requests: HTTP 403" in transport


def test_a_challenge_with_only_the_plain_transport_fails(api, env):
    api.add_fault("challenge", times=None)
    run = run_cli(["doctor"], {**env, "TRIALFINDER_TRANSPORT": "requests"})
    assert run.returncode == 1, run
    assert marks(run) == {"config": "–", "places": "✓", "api": "✗", "transport": "✗",
                          "version": "–", "fields": "–"}, run
    assert "requests: HTTP 403" in lines(run)["api"]
    # The server answered, with a bot check: not "not reachable", which sends people to their network.
    assert "not reachable" not in run.stdout
    assert "gave no API answer" in lines(run)["api"]
    assert run.stdout.splitlines()[-1] == "2 of 6 checks failed: api, transport"


def test_a_stalled_api_fails_at_the_deadline(api, env):
    api.add_fault("stall", times=None, seconds=20)
    run = run_cli(["doctor"], {**env, "TRIALFINDER_TIMEOUT": "60", "TRIALFINDER_DEADLINE": "1.5"})
    assert run.returncode == 1, run
    assert run.seconds < 10, run
    assert marks(run)["api"] == "✗" and "no answer within the 1.5 s deadline" in lines(run)["api"]
    assert marks(run)["places"] == "✓"  # the offline checks still run


def test_a_field_renamed_upstream_is_named(api, env, monkeypatch):
    # The stand-in no longer knows the piece "WhyStopped", as if the registry renamed it.
    monkeypatch.delitem(fake_essie._PIECES_CI, "whystopped")
    run = run_cli(["doctor"], env)
    assert run.returncode == 1, run
    assert marks(run)["fields"] == "✗" and marks(run)["version"] == "✓"
    assert ("the API refused a field trialfinder uses: "
            "Parameter 'fields' contains invalid field name: 'WhyStopped'") in lines(run)["fields"]
    assert api.requests[-1].status == 400


def test_unreachable_api(env):
    run = run_cli(["doctor", "--api-url", f"http://127.0.0.1:{free_port()}/api/v2"], env)
    assert run.returncode == 1, run
    assert "could not connect" in lines(run)["api"]


# -- configuration and mail ------------------------------------------------------------------


def smtp_config(path: Path, port: int, extra: str = "") -> Path:
    path.write_text(
        f'state = "{path.parent / "state.db"}"\n\n[smtp]\nhost = "127.0.0.1"\nport = {port}\n'
        f'security = "none"\nfrom = "alerts@example.org"\ntimeout = 5\n{extra}\n'
        '[[search]]\nname = "ms"\nnear = "Boston, MA"\nrecipients = ["nurse@example.org"]\n',
        encoding="utf-8",
    )
    return path


def test_smtp_connects_says_ehlo_and_sends_nothing(api, env, tmp_path):
    with SMTPServer() as smtp:
        config = write_config(tmp_path / "config.toml", smtp.port)
        run = run_cli(["doctor", "--smtp", "--config", str(config)], env)
        assert run.returncode == 0, run
        assert lines(run)["smtp"] == f"✓ smtp      SMTP 127.0.0.1:{smtp.port}: EHLO OK; nothing sent"
        assert lines(run)["config"].startswith(f"✓ config    {config}: 1 saved search (btk-boston)")
        assert smtp.messages == []


def test_smtp_login_is_checked(api, env, tmp_path):
    with SMTPServer(credentials=("alerts", "s3cret")) as smtp:
        extra = 'username = "alerts"\npassword_env = "TF_TEST_SMTP_PASSWORD"\n'
        config = smtp_config(tmp_path / "config.toml", smtp.port, extra)
        good = run_cli(["doctor", "--smtp", "--config", str(config)],
                       {**env, "TF_TEST_SMTP_PASSWORD": "s3cret"})
        assert good.returncode == 0, good
        assert "EHLO, login as alerts OK; nothing sent" in lines(good)["smtp"]
        bad = run_cli(["doctor", "--smtp", "--config", str(config)],
                      {**env, "TF_TEST_SMTP_PASSWORD": "wrong"})
        assert bad.returncode == 1, bad
        assert "login refused for alerts (535)" in lines(bad)["smtp"]
        assert smtp.messages == []


def test_smtp_on_a_closed_port_fails(api, env, tmp_path):
    config = smtp_config(tmp_path / "config.toml", free_port())
    run = run_cli(["doctor", "--smtp", "--config", str(config)], env)
    assert run.returncode == 1, run
    assert marks(run)["smtp"] == "✗" and "ConnectionRefusedError" in lines(run)["smtp"]
    assert marks(run)["fields"] == "✓"


def test_smtp_without_a_configuration_fails(api, env):
    run = run_cli(["doctor", "--smtp"], env)
    assert run.returncode == 1, run
    assert lines(run)["smtp"].startswith("✗ smtp      no [smtp] table")


def test_a_broken_configuration_is_a_failed_check_and_the_rest_still_run(api, env, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("state = [unclosed\n", encoding="utf-8")
    run = run_cli(["doctor", "--config", str(config)], env)
    assert run.returncode == 1, run
    assert marks(run)["config"] == "✗" and "not valid TOML" in lines(run)["config"]
    assert marks(run)["fields"] == "✓"


def test_a_missing_named_configuration_fails(api, env, tmp_path):
    run = run_cli(["doctor", "--config", str(tmp_path / "nope.toml")], env)
    assert run.returncode == 1 and "no such file" in lines(run)["config"], run


def test_the_configurations_api_url_is_used(api, env, tmp_path):
    config = write_config(tmp_path / "config.toml", 25)
    config.write_text(f'api_url = "{api.url}"\n' + config.read_text(), encoding="utf-8")
    run = run_cli(["doctor", "--config", str(config)], {**env, "TRIALFINDER_API_URL": ""})
    assert run.returncode == 0, run
    assert f"{api.url} answers" in lines(run)["api"]


@pytest.mark.parametrize("args, extra, message", [
    (["--api-url", "ftp://example.org"], {}, "is not an http(s) URL"),
    (["--format", "xml"], {}, "Invalid value for '-f'"),
    ([], {"TRIALFINDER_DEADLINE": "-1"}, "TRIALFINDER_DEADLINE"),
    ([], {"TRIALFINDER_TRANSPORT": "carrier-pigeon"}, "TRIALFINDER_TRANSPORT"),
])
def test_bad_options_and_settings_are_exit_2(api, env, args, extra, message):
    line = error_line(run_cli(["doctor", *args], {**env, **extra}), 2)
    assert message in line
    assert api.requests == []
