"""End to end: the installed command against the stand-in, for the overall deadline and the
browser-like transport (TRIALFINDER_DEADLINE, TRIALFINDER_TRANSPORT, TRIALFINDER_USER_AGENT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .e2e_support import (
    BOSTON,
    PERSEUS,
    cli_env,
    error_line,
    require_installed_command,
    run_cli,
    table_ids,
    write_config,
)

require_installed_command()

SEARCH = ("search", "-d", "btk", "-n", BOSTON)


@pytest.fixture
def env(api, tmp_path):
    return cli_env(api.url, tmp_path)


def no_curl(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The environment of a Python where curl_cffi is not installed (its import is blocked)."""
    site = tmp_path / "no-curl"
    site.mkdir()
    (site / "sitecustomize.py").write_text('import sys\nsys.modules["curl_cffi"] = None\n')
    return {**env, "PYTHONPATH": str(site)}


# -- the deadline ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["search", "show", "digest"])
def test_a_stalled_server_is_given_up_at_the_deadline(api, tmp_path, command):
    # Five tries of a 60 s read timeout would hold the command for five minutes.
    env = {**cli_env(api.url, tmp_path, tries=5, timeout=60.0), "TRIALFINDER_DEADLINE": "1.5"}
    args, path = {
        "search": (SEARCH, "/studies"),
        "show": (("show", PERSEUS), f"/studies/{PERSEUS}"),
        "digest": (("digest", "--dry-run", "--config", str(write_config(tmp_path / "c.toml", 9))),
                   "/studies"),
    }[command]
    api.add_fault("stall", times=None, seconds=20)
    run = run_cli(args, env)
    if command == "digest":  # one line per failed saved search, then exit 1
        assert run.returncode == 1, run
        assert "Traceback" not in run.stderr
        assert f"GET {api.url}{path}: no answer within the 1.5 s deadline" in run.stderr, run
    else:
        line = error_line(run, 1)
        assert line == (f"Error: GET {api.url}{path}: no answer within the 1.5 s deadline "
                        "(last try: timed out); set TRIALFINDER_DEADLINE to allow longer"), run
    assert run.seconds < 10, run


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_bad_deadline_is_exit_2(api, env, value):
    line = error_line(run_cli(SEARCH, {**env, "TRIALFINDER_DEADLINE": value}), 2)
    assert line.startswith("Error: TRIALFINDER_DEADLINE=") and "seconds" in line
    assert api.requests == []


# -- the transport -----------------------------------------------------------------------


def test_a_challenge_is_passed_through_the_browser_like_transport(api, env):
    expected = table_ids(run_cli(SEARCH, env).stdout)
    api.reset_log()
    api.add_fault("challenge", times=None)
    run = run_cli(SEARCH, env)
    assert run.returncode == 0, run
    assert table_ids(run.stdout) == expected and expected
    notes = [line for line in run.stderr.splitlines() if "curl_cffi" in line]
    assert len(notes) == 1 and notes[0].startswith("note: ClinicalTrials.gov answered HTTP 403"), run
    assert [r.status for r in api.requests] == [403, 200]


def test_forced_requests_meets_the_challenge_with_one_line(api, env):
    api.add_fault("challenge", times=None)
    line = error_line(run_cli(SEARCH, {**env, "TRIALFINDER_TRANSPORT": "requests"}), 1)
    assert line.startswith(f"Error: GET {api.url}/studies: HTTP 403 Forbidden"), line
    assert "refused this client" in line


def test_without_curl_cffi_a_403_names_the_fix(api, env, tmp_path):
    api.add_fault("challenge", times=None)
    line = error_line(run_cli(SEARCH, no_curl(env, tmp_path)), 1)
    assert line.startswith(f"Error: GET {api.url}/studies: HTTP 403 Forbidden"), line
    assert "pip install 'trialfinder[impersonate]'" in line
    assert len(api.requests) == 1


def test_forcing_curl_without_curl_cffi_is_exit_2_naming_the_fix(api, env, tmp_path):
    run = run_cli(SEARCH, {**no_curl(env, tmp_path), "TRIALFINDER_TRANSPORT": "curl"})
    line = error_line(run, 2)
    assert line == "Error: TRIALFINDER_TRANSPORT=curl needs curl_cffi: pip install 'trialfinder[impersonate]'"
    assert api.requests == []


@pytest.mark.parametrize("name, value, message", [
    ("TRIALFINDER_TRANSPORT", "httpx", "is not one of: requests, curl"),
    ("TRIALFINDER_USER_AGENT", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "bot signal"),
])
def test_bad_transport_settings_are_exit_2(api, env, name, value, message):
    line = error_line(run_cli(SEARCH, {**env, name: value}), 2)
    assert message in line
    assert api.requests == []
