"""Helpers for tests/test_e2e.py: run the installed ``trialfinder`` command against the
API stand-in (tests/fakeapi.py) and a loopback SMTP server, and read what it left behind.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TRIALFINDER = Path(sys.executable).parent / "trialfinder"

BOSTON = "Boston, MA"
BOSTON_GEO = "distance(42.35843,-71.05977,100mi)"  # what "Boston, MA" resolves to, as sent
OPEN = "RECRUITING,NOT_YET_RECRUITING,ENROLLING_BY_INVITATION"

PERSEUS, REMODEL_1, REMODEL_2 = "NCT04458051", "NCT05147220", "NCT05156281"
ORELA_PPMS, ORELA_SPMS = "NCT07067463", "NCT07299019"
HOSTILE = "NCT09999991"

# Characters no terminal, spreadsheet or mail reader should ever get from API text:
# C0 controls other than newline and tab (ESC, BEL, ...), DEL, C1 controls, and the
# bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def unsafe_characters(text: str) -> set[str]:
    """The control and bidi characters in ``text`` (empty when it is safe to print)."""
    return {
        ch for ch in text
        if ch in _BIDI or (unicodedata.category(ch) == "Cc" and ch not in "\n\t")
    }


# -- data ------------------------------------------------------------------------------


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def nct(study: dict[str, Any]) -> str:
    return study["protocolSection"]["identificationModule"]["nctId"]


def world() -> list[dict[str, Any]]:
    """The five constructed BTK studies near Boston; PERSEUS as its full record (so that
    ``show`` gets everything), the others as on the search page. Fresh copies every call."""
    page = load_fixture("constructed/search_btk_boston.json")["studies"]
    full = load_fixture("constructed/study_NCT04458051.json")
    return [full if nct(s) == PERSEUS else s for s in copy.deepcopy(page)]


def find(studies: list[dict[str, Any]], nct_id: str) -> dict[str, Any]:
    return next(s for s in studies if nct(s) == nct_id)


def protocol(studies: list[dict[str, Any]], nct_id: str) -> dict[str, Any]:
    return find(studies, nct_id)["protocolSection"]


def hostile_world() -> list[dict[str, Any]]:
    return load_fixture("constructed/hostile_study.json")["studies"]


# -- running the command ---------------------------------------------------------------


def require_installed_command() -> None:
    """Skip the calling module when the ``trialfinder`` command is not installed next to this
    Python; under CI (``CI=true``) fail instead, so its tests cannot silently vanish."""
    from .conftest import skip_unless_ci

    if not TRIALFINDER.exists():
        skip_unless_ci(f"the installed 'trialfinder' command is missing ({TRIALFINDER}); "
                       "install the package into this environment: pip install -e '.[test]'",
                       allow_module_level=True)


@dataclass
class Run:
    """One finished run of the command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def __str__(self) -> str:  # shown by pytest when an assertion about a run fails
        return (f"trialfinder {' '.join(self.args)} -> exit {self.returncode} in {self.seconds:.2f} s\n"
                f"--- stdout ---\n{self.stdout[:3000]}\n--- stderr ---\n{self.stderr[:3000]}")

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli_env(api_url: str, home: Path, *, tries: int = 2, timeout: float = 1.0) -> dict[str, str]:
    """The environment of one run: the stand-in's URL, few tries, a short read timeout,
    an isolated home, the shared gazetteer cache (inherited) and no proxies."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.lower().endswith("_proxy")
        and not (k.startswith("TRIALFINDER_") and k != "TRIALFINDER_CACHE_DIR")
    }
    env.update(
        TRIALFINDER_API_URL=api_url,
        TRIALFINDER_TRIES=str(tries),
        TRIALFINDER_TIMEOUT=str(timeout),
        TRIALFINDER_HOME=str(home / "home"),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        XDG_DATA_HOME=str(home / "xdg-data"),
        NO_PROXY="*",
        no_proxy="*",
        PYTHONIOENCODING="utf-8",
    )
    return env


def run_cli(args: Iterable[str], env: dict[str, str]) -> Run:
    argv = tuple(args)
    started = time.monotonic()
    done = subprocess.run([str(TRIALFINDER), *argv], capture_output=True, text=True, encoding="utf-8",
                          env=env, timeout=60)
    return Run(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def error_line(run: Run, status: int) -> str:
    """Assert a failed run: the exit status, no output, no traceback, and exactly one
    line on stderr (besides ``note:`` lines) starting ``Error: ``; return that line."""
    assert run.returncode == status, run
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run
    assert run.stdout == "", run
    lines = [line for line in run.stderr.splitlines() if not line.startswith("note:")]
    assert len(lines) == 1, run
    assert lines[0].startswith("Error: "), run
    return lines[0]


# -- output formats --------------------------------------------------------------------


def table_ids(text: str) -> list[str]:
    """NCT IDs of the rows of the table output, in order."""
    return [line.split()[0] for line in text.splitlines() if re.match(r"NCT\d{8} ", line)]


def markdown_ids(text: str) -> list[str]:
    return [line.split("[", 1)[1].split("]", 1)[0] for line in text.splitlines() if line.startswith("| [NCT")]


# -- digest state ----------------------------------------------------------------------


def state_rows(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the digest state (``reported`` and ``runs``), for before/after checks."""
    if not db_path.exists():
        return {"reported": [], "runs": []}
    db = sqlite3.connect(db_path)
    try:
        return {
            "reported": db.execute("SELECT * FROM reported ORDER BY search, nct_id").fetchall(),
            "runs": db.execute("SELECT * FROM runs ORDER BY id").fetchall(),
        }
    finally:
        db.close()


def reported(db_path: Path) -> dict[str, int]:
    """``{nct_id: active}`` of the ``reported`` table."""
    return {row[1]: row[3] for row in state_rows(db_path)["reported"]}


def write_config(path: Path, smtp_port: int, **keys: str | None) -> Path:
    """A digest configuration: one search "btk-boston" (keys given as TOML values; None
    drops a key), mail to the loopback server, state next to the file."""
    search: dict[str, str | None] = {
        "name": '"btk-boston"', "drug_class": '"btk"', "near": '"Boston, MA"', "radius": '"100mi"',
        "recipients": '["nurse@example.org", "Family <family@example.org>"]',
    }
    search.update(keys)
    body = "\n".join(f"{k} = {v}" for k, v in search.items() if v is not None)
    path.write_text(
        f'state = "{path.parent / "state.db"}"\n\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
        f'from = "MS trial alerts <alerts@example.org>"\ntimeout = 10\n\n'
        f"[[search]]\n{body}\n",
        encoding="utf-8",
    )
    return path


def mail_parts(message: Any) -> tuple[str, str]:
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    return plain, html
