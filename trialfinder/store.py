"""What each saved search has reported, in SQLite, with an ordered migrations list.

A row per (search, trial) keeps the snapshot last reported. Rows change only
through :meth:`State.record`, which a digest calls after the mail server
accepted the message, in one transaction.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .exceptions import ConfigError, TrialfinderError


class StateError(TrialfinderError):
    """The state database cannot be opened, read or written."""


class Busy(StateError):
    """Another digest run holds the lock."""


def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE reported (
            search TEXT NOT NULL,
            nct_id TEXT NOT NULL,
            snapshot TEXT NOT NULL,          -- JSON: what the last digest said about the trial
            active INTEGER NOT NULL DEFAULT 1, -- 0 once reported as no longer matching
            first_reported TEXT NOT NULL,
            last_reported TEXT NOT NULL,
            PRIMARY KEY (search, nct_id)
        )"""
    )
    db.execute(
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            search TEXT NOT NULL,
            finished TEXT NOT NULL,
            outcome TEXT NOT NULL,            -- sent | baseline | nothing-new
            new INTEGER NOT NULL, changed INTEGER NOT NULL, gone INTEGER NOT NULL,
            message_id TEXT
        )"""
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [m001_initial]


@dataclass(frozen=True)
class Reported:
    nct_id: str
    snapshot: dict[str, Any]
    active: bool
    first_reported: str


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    """The state database of digests."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open (and migrate) the database.

        With ``create=False`` (a dry run) nothing on disk is created or changed: a
        missing file is an empty state, and an existing one is read into memory, so
        a read-only directory or file is fine.
        """
        self.path = path
        try:
            if not create:
                self.db = sqlite3.connect(":memory:", isolation_level=None)
                if path.exists():
                    self._copy_from(path)
                self.migrate()
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.migrate()
        except (OSError, sqlite3.Error) as exc:
            hint = "" if writable_dir(path.parent) else f" (the state directory {path.parent} must be writable)"
            raise StateError(f"cannot open state database {path}: {exc}{hint}") from None

    def _copy_from(self, path: Path) -> None:
        """Read ``path`` into this in-memory database without writing anything beside it.

        A WAL database in a read-only directory cannot even be opened read-only
        (SQLite wants its -shm file); ``immutable=1`` can, and is safe for a copy
        made by a run that changes nothing.
        """
        uri = path.resolve().as_uri()
        for flags in ("mode=ro", "immutable=1"):
            try:
                source = sqlite3.connect(f"{uri}?{flags}", uri=True, timeout=30)
                try:
                    source.backup(self.db)
                    return
                finally:
                    source.close()
            except sqlite3.OperationalError:
                if flags == "immutable=1":
                    raise

    def close(self) -> None:
        self.db.close()

    def migrate(self) -> None:
        """Apply every migration not yet recorded in ``_migrations``, in order."""
        self.db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
        done = {row[0] for row in self.db.execute("SELECT name FROM _migrations")}
        for migration in MIGRATIONS:
            if migration.__name__ in done:
                continue
            with self.transaction():
                migration(self.db)
                self.db.execute("INSERT INTO _migrations VALUES (?, ?)", (migration.__name__, now()))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def reported(self, search: str) -> dict[str, Reported]:
        """Every trial this search has reported, by NCT ID."""
        rows = self.db.execute(
            "SELECT nct_id, snapshot, active, first_reported FROM reported WHERE search = ?", (search,)
        )
        return {r[0]: Reported(r[0], json.loads(r[1]), bool(r[2]), r[3]) for r in rows}

    def record(
        self,
        search: str,
        *,
        current: dict[str, dict[str, Any]],
        gone: list[str],
        outcome: str,
        counts: tuple[int, int, int],
        message_id: str | None = None,
    ) -> None:
        """Store the snapshots now reported (``current``) and mark ``gone`` trials inactive."""
        stamp = now()
        try:
            with self.transaction():
                for nct_id, snapshot in current.items():
                    self.db.execute(
                        """INSERT INTO reported VALUES (?, ?, ?, 1, ?, ?)
                           ON CONFLICT (search, nct_id) DO UPDATE SET
                             snapshot = excluded.snapshot, active = 1, last_reported = excluded.last_reported""",
                        (search, nct_id, json.dumps(snapshot, sort_keys=True), stamp, stamp),
                    )
                self.db.executemany(
                    "UPDATE reported SET active = 0, last_reported = ? WHERE search = ? AND nct_id = ?",
                    [(stamp, search, nct_id) for nct_id in gone],
                )
                self.db.execute(
                    "INSERT INTO runs (search, finished, outcome, new, changed, gone, message_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (search, stamp, outcome, *counts, message_id),
                )
        except sqlite3.Error as exc:
            raise StateError(f"cannot write state database {self.path}: {exc}") from None

    def last_run(self, search: str) -> str | None:
        row = self.db.execute("SELECT max(finished) FROM runs WHERE search = ?", (search,)).fetchone()
        return row[0] if row else None


@contextmanager
def run_lock(state_path: Path) -> Iterator[None]:
    """Hold ``<state>.lock`` for the run; Busy if another run holds it."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENAMETOOLONG, errno.EINVAL):
            # A path that can never work (below a regular file, say): fix the configuration.
            raise ConfigError(f"cannot create lock file {lock_path}: {exc}") from None
        # A directory that exists but cannot be written (permissions, a read-only file
        # system, a full disk) is a failing state file: exit 1, like any other.
        raise StateError(f"cannot create lock file {lock_path}: {exc.strerror or exc} "
                         f"(the state directory {lock_path.parent} must be writable)") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise Busy(f"another 'trialfinder digest' is running (pid {holder}, lock {lock_path}); "
                       "this run did nothing") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def writable_dir(directory: Path) -> bool:
    """Whether files can be created in ``directory`` (or, if it does not exist yet, in
    the nearest existing parent, where it would be made)."""
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False
