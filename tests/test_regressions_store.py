"""The state database, exactly: timestamps in UTC, what a row reads back as, where files go
(written to kill surviving mutants; issue 11)."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from datetime import UTC, datetime

import pytest

from trialfinder.store import State, StateError


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
