"""The installed command where a real process matters: SIGINT, stdout on /dev/full or a
closed pipe, and the terminal width from ``COLUMNS`` (tests/fakeapi.py serves the API)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from .datagen import generate_studies
from .e2e_support import (
    BOSTON,
    PERSEUS,
    TRIALFINDER,
    cli_env,
    require_installed_command,
    run_cli,
    table_ids,
)
from .fakeapi import FakeCTGov

require_installed_command()

SEARCH = ("search", "-d", "btk", "-n", BOSTON, "-r", "150mi", "-s", "open")


@pytest.fixture
def env(api, tmp_path):
    return cli_env(api.url, tmp_path)


# -- Ctrl-C ------------------------------------------------------------------------------


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def interrupt(args: tuple[str, ...], env: dict[str, str], started) -> tuple[int, str, float]:
    """Run the command, send SIGINT once ``started()`` is true; the exit status, stderr,
    and the seconds from the signal to the exit."""
    proc = subprocess.Popen([str(TRIALFINDER), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(started)
        time.sleep(0.3)  # let the stalled request be under way
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        return proc.returncode, err, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_while_the_next_page_is_fetched_in_the_background(tmp_path):
    studies = generate_studies(1500, seed=3, min_sites=1, max_sites=1)
    with FakeCTGov(studies, stall_cap=60) as api:
        stall = api.add_fault("stall", after=1, seconds=60)  # the second page (the prefetch) hangs
        env = cli_env(api.url, tmp_path, timeout=60)
        code, err, seconds = interrupt(("search", "-c", "any", "-s", "any", "-f", "json"), env,
                                       lambda: stall.seen >= 2)
    assert code == 130, err
    assert "Traceback" not in err, err
    assert seconds < 2.5, f"took {seconds:.1f} s to stop"


def test_ctrl_c_while_a_request_stalls(api, env):
    env["TRIALFINDER_TIMEOUT"] = "60"
    stall = api.add_fault("stall", seconds=30)
    code, err, seconds = interrupt(("show", PERSEUS), env, lambda: stall.seen >= 1)
    assert code == 130, err
    assert "Traceback" not in err, err
    assert seconds < 2.5, f"took {seconds:.1f} s to stop"


# -- stdout that cannot be written -----------------------------------------------------

COMMANDS = [
    ("search", *SEARCH[1:]),
    ("show", PERSEUS),
    ("drug-classes",),
    ("drug-classes", "btk", "-f", "json"),
    ("locate", BOSTON),
    ("--help",),
    ("--version",),
    ("search", "--help"),
    ("config", "path"),
    ("config",),
    (),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "bare")
def test_a_full_disk_is_one_line_and_exit_1(env, args):
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(TRIALFINDER), *args], env=env, stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("note:")]
    assert done.returncode == 1, done.stderr
    assert lines == ["Error: cannot write the output: No space left on device"], done.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "bare")
def test_a_closed_pipe_ends_quietly_with_exit_0(env, args):
    proc = subprocess.Popen([str(TRIALFINDER), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader went away before reading anything (like `| head -0`)
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.wait(timeout=60)
    assert proc.returncode == 0, err
    assert [line for line in err.splitlines() if not line.startswith("note:")] == [], err


def test_drug_classes_into_head_exits_0(env):
    done = subprocess.run(f"'{TRIALFINDER}' drug-classes | head -1; echo \"status=${{PIPESTATUS[0]}}\"",
                          shell=True, executable="/bin/bash", env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.splitlines()[-1] == "status=0", done
    assert done.stderr == "", done


# -- the terminal's width ----------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 100, 120, 200])
def test_search_table_fits_columns(env, columns):
    env["COLUMNS"] = str(columns)
    result = run_cli(SEARCH, env)
    assert result.returncode == 0, result
    table = result.stdout.split("\n\n")[0].splitlines()
    assert max(len(line) for line in table) <= columns, result.stdout
    assert len(table_ids(result.stdout)) == 4


def test_search_into_a_pipe_keeps_every_column(env):
    env.pop("COLUMNS", None)
    result = run_cli(SEARCH, env)
    header = result.stdout.splitlines()[0]
    for column in ("Trial", "Phase", "Status", "Nearest open site", "Distance", "Facility", "Sponsor"):
        assert column in header, result.stdout
    assert "Massachusetts General Hospital" in result.stdout
    assert "InnoCare Pharma" in result.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_show_wraps_at_columns_without_splitting_words(env, columns):
    env["COLUMNS"] = str(columns)
    result = run_cli(("show", PERSEUS, "-n", BOSTON), env)
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns, result.stdout
    words = {w for line in lines for w in line.split()}
    assert "leukoencephalopathy." in words  # never cut inside a word


# -- a wrong --api-url ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/api/v1", "/wrong/api"])
def test_a_wrong_api_url_is_not_a_missing_trial(api, env, suffix):
    root = api.url.removesuffix("/api/v2")
    result = run_cli(("show", PERSEUS, "--api-url", root + suffix), env)
    assert result.returncode == 1, result
    assert "no trial" not in result.stderr, result
    assert "this URL is not the ClinicalTrials.gov API" in result.stderr, result
    assert f"try {root}/api/v2" in result.stderr, result
    searched = run_cli(("search", "-n", BOSTON, "--api-url", root + suffix), env)
    assert searched.returncode == 1 and "not the ClinicalTrials.gov API" in searched.stderr, searched


def test_the_api_saying_a_trial_does_not_exist_is_still_exit_2(env):
    result = run_cli(("show", "NCT09999999"), env)
    assert result.returncode == 2, result
    assert result.stderr == "Error: no trial NCT09999999 on ClinicalTrials.gov\n"


# -- progress on stderr --------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages():
    """2,100 studies: three pages of at most 1,000."""
    with FakeCTGov(generate_studies(2100, seed=11, min_sites=0, max_sites=1)) as api:
        yield api


WALK = ("search", "-c", "any", "-s", "any", "-f", "csv")


def test_progress_on_a_terminal_stderr(pages, tmp_path):
    code, text = read_pty(WALK, cli_env(pages.url, tmp_path))
    assert code == 0, text
    assert "fetched 1,000 of 2,100 studies" in text or "fetched 2,000 of 2,100 studies" in text, text
    assert "fetched 2,100 of 2,100 studies" in text, text


def test_no_progress_when_stderr_is_not_a_terminal(pages, tmp_path):
    result = run_cli(WALK, cli_env(pages.url, tmp_path))
    assert result.returncode == 0, result
    assert result.stderr == "2,100 trials (any status).\n", result.stderr


def test_the_library_reports_progress_through_a_callback(pages):
    from trialfinder.client import Client
    from trialfinder.finder import search
    from trialfinder.query import Query

    calls: list[tuple[int, int | None]] = []
    search(Client(pages.url), Query(condition="", statuses=()), on_progress=lambda f, t: calls.append((f, t)))
    assert calls == [(1000, 2100), (2000, 2100), (2100, 2100)]


def read_pty(args: tuple[str, ...], env: dict[str, str]) -> tuple[int, str]:
    """Run the command with stderr on a pseudo-terminal; its exit status and what it drew."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([str(TRIALFINDER), *args], env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.wait(timeout=60), seen.decode()


def test_progress_when_one_page_takes_more_than_a_second(api, env):
    api.add_fault("stall", seconds=1.6)
    env["TRIALFINDER_TIMEOUT"] = "10"
    code, text = read_pty(SEARCH, env)
    assert code == 0, text
    assert "fetching studies…" in text and "fetched 5 of 5 studies" in text, text  # 5 fetched, 4 kept


def test_no_progress_when_one_page_is_quick(api, env):
    code, text = read_pty(SEARCH, env)
    assert code == 0, text
    assert "fetch" not in text, text
