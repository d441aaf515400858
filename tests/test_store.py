"""The SQLite state: migrations, recording, the run lock, and unusable paths."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import time
from datetime import UTC, datetime

import pytest

from trialfinder import store
from trialfinder.store import Busy, State, StateError, run_lock

from .conftest import skip_here


def test_migrations_run_once_in_order(tmp_path, monkeypatch):
    path = tmp_path / "state.db"
    State(path).close()
    applied = []

    def m002_add_note(db):
        applied.append("m002")
        db.execute("ALTER TABLE reported ADD COLUMN note TEXT")

    monkeypatch.setattr(store, "MIGRATIONS", [store.m001_initial, m002_add_note])
    State(path).close()
    State(path).close()
    assert applied == ["m002"]
    names = [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == ["m001_initial", "m002_add_note"]


def test_record_and_read_back(tmp_path):
    state = State(tmp_path / "s.db")
    state.record("a", current={"NCT00000001": {"status": "RECRUITING"}}, gone=[], outcome="sent",
                 counts=(1, 0, 0), message_id="<x@y>")
    state.record("a", current={}, gone=["NCT00000001"], outcome="sent", counts=(0, 0, 1))
    rows = state.reported("a")
    assert rows["NCT00000001"].snapshot == {"status": "RECRUITING"}
    assert rows["NCT00000001"].active is False
    assert state.reported("b") == {}
    assert state.last_run("a") is not None and state.last_run("b") is None


def test_failed_record_leaves_nothing_half_written(tmp_path):
    state = State(tmp_path / "s.db")
    statements = []
    state.db.set_trace_callback(statements.append)
    with pytest.raises(TypeError):
        # The first row is written; the second cannot even be serialised.
        state.record("a", current={"NCT00000001": {"x": 1}, "NCT00000002": {"x": object()}},
                     gone=[], outcome="sent", counts=(2, 0, 0))
    state.db.set_trace_callback(None)
    assert any("INSERT INTO reported" in s for s in statements)  # the failure came after real SQL
    assert state.reported("a") == {}
    assert state.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    # ...and in the file, as another connection sees it.
    other = sqlite3.connect(tmp_path / "s.db")
    assert other.execute("SELECT count(*) FROM reported").fetchone()[0] == 0
    other.close()


def test_unusable_state_path_is_a_state_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError, match="cannot open state database"):
        State(blocker / "state.db")


def test_dry_run_state_for_a_missing_file_is_in_memory(tmp_path):
    state = State(tmp_path / "none.db", create=False)
    assert state.reported("a") == {}
    assert not (tmp_path / "none.db").exists()


def test_lock_is_exclusive_and_names_the_holder(tmp_path):
    path = tmp_path / "state.db"
    with run_lock(path):
        with pytest.raises(Busy, match=r"another 'trialfinder digest' is running \(pid \d+"):
            with run_lock(path):
                pass
    with run_lock(path):  # released
        pass


# -- exactly (written to kill surviving mutants; issue 11) ---------------------------------


def test_record_reads_back_with_its_id_and_first_report_time(tmp_path):
    state = State(tmp_path / "s.db")
    state.record("a", current={"NCT00000001": {"v": 1}}, gone=[], outcome="sent", counts=(1, 0, 0))
    [row] = state.reported("a").values()
    assert row.nct_id == "NCT00000001"
    assert row.first_reported == state.last_run("a")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row.first_reported)


def test_times_are_utc_whatever_the_local_zone(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        state = State(tmp_path / "s.db")
        before = datetime.now(UTC).replace(microsecond=0)
        state.record("a", current={}, gone=[], outcome="sent", counts=(0, 0, 0))
        stamp = datetime.strptime(state.last_run("a"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert abs((stamp - before).total_seconds()) < 60
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_state_file_in_new_folders_is_created_with_them(tmp_path):
    path = tmp_path / "a" / "b" / "state.db"
    State(path).close()
    assert path.exists()


def test_a_dry_run_state_leaves_no_file_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = State(tmp_path / "missing.db", create=False)
    state.record("a", current={"NCT00000001": {}}, gone=[], outcome="sent", counts=(1, 0, 0))
    assert state.reported("a")["NCT00000001"].active
    assert os.listdir(tmp_path) == []


def test_a_failed_write_names_the_state_file(tmp_path):
    path = tmp_path / "s.db"
    state = State(path)
    db = sqlite3.connect(path)
    db.execute("CREATE TRIGGER no BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    db.commit()
    db.close()
    with pytest.raises(StateError) as info:
        state.record("a", current={}, gone=[], outcome="sent", counts=(0, 0, 0))
    assert str(info.value) == f"cannot write state database {path}: disk says no"


# -- dry runs read an existing state; read-only directories (mutants of _copy_from) ----------


@contextlib.contextmanager
def read_only(directory):
    """Make ``directory`` refuse new files, even to root (chattr +i), until the block ends."""
    if os.geteuid() != 0:
        mode = directory.stat().st_mode
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(mode)
        return
    done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True, text=True)
    if done.returncode != 0:
        skip_here(f"cannot make a directory immutable here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def written_state(directory):
    path = directory / "state.db"
    state = State(path)
    state.record("a", current={"NCT00000001": {"v": 1}}, gone=[], outcome="sent", counts=(1, 0, 0))
    state.record("a", current={}, gone=["NCT00000001"], outcome="sent", counts=(0, 0, 1))
    state.close()
    return path


def test_a_dry_run_reads_the_existing_state_and_changes_nothing(tmp_path):
    path = written_state(tmp_path / "d")
    before = path.read_bytes()
    dry = State(path, create=False)
    [row] = dry.reported("a").values()
    assert row.nct_id == "NCT00000001" and row.snapshot == {"v": 1} and not row.active
    assert dry.last_run("a") is not None
    dry.record("a", current={"NCT00000002": {}}, gone=[], outcome="sent", counts=(1, 0, 0))
    dry.close()
    assert path.read_bytes() == before
    assert set(State(path).reported("a")) == {"NCT00000001"}


def test_a_dry_run_reads_a_state_in_a_read_only_directory(tmp_path):
    """SQLite cannot open a WAL database read-only where it cannot make the -shm file;
    the dry run then reads it as immutable."""
    directory = tmp_path / "d"
    path = written_state(directory)
    with read_only(directory):
        dry = State(path, create=False)
        [row] = dry.reported("a").values()
        dry.close()
    assert row.nct_id == "NCT00000001" and not row.active


def test_a_new_state_in_a_read_only_directory_names_the_directory(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    with read_only(directory):
        assert not store.writable_dir(directory)
        with pytest.raises(StateError, match=f"the state directory {directory} must be writable"):
            State(directory / "state.db")
    assert store.writable_dir(directory) and store.writable_dir(directory / "new" / "deeper")


def test_a_directory_that_is_a_regular_file_is_not_writable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("#!/bin/sh\n")
    blocker.chmod(0o755)  # even an executable file the process may write to
    assert not store.writable_dir(blocker)
    assert not store.writable_dir(blocker / "state")


@pytest.mark.parametrize("create", [True, False])
def test_a_state_path_that_is_a_directory_is_an_error_not_an_empty_state(tmp_path, create):
    """An empty state would report every matching trial as new: a dry run must fail too.
    The directory it is in is writable, so the error does not blame it."""
    path = tmp_path / "state.db"
    path.mkdir()
    with pytest.raises(StateError) as info:
        State(path, create=create)
    assert str(info.value) == f"cannot open state database {path}: unable to open database file"
