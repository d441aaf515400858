"""The TOML configuration of saved searches and the mail server.

Everything is checked before anything is fetched or sent: unknown keys, wrong
types, searches without recipients, bad addresses, unresolvable places.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any

from .exceptions import ConfigError, InputError
from .query import Query, build_query

SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

# key: (accepted types, description used in errors)
SEARCH_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "name": ((str,), "a short name (letters, digits, - _ .)"),
    "recipients": ((list, str), "a list of e-mail addresses"),
    "send_empty": ((bool,), "true or false"),
    "condition": ((str,), "text"),
    "intervention": ((list, str), "a drug name or a list of them"),
    "drug_class": ((str,), "a drug class such as \"btk\""),
    "term": ((str,), "text"),
    "near": ((str,), "a place such as \"Boston, MA\""),
    "radius": ((str, int, float), "a distance such as \"150mi\""),
    "status": ((list, str), "a status or a list of them"),
    "phase": ((list, str, int), "a phase or a list of them"),
    "age": ((int,), "a whole number of years"),
    "sex": ((str,), "\"female\" or \"male\""),
    "limit": ((int,), "a whole number"),
    "include_off_condition": ((bool,), "true or false"),
    "profile": ((str, dict), "a profile TOML file, or a table of profile keys (see README)"),
}
SMTP_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "host": ((str,), "a host name"),
    "port": ((int,), "a port number"),
    "security": ((str,), "\"starttls\", \"ssl\" or \"none\""),
    "username": ((str,), "text"),
    "password_env": ((str,), "the name of an environment variable"),
    "from": ((str,), "an address such as \"Alerts <alerts@example.org>\""),
    "timeout": ((int, float), "seconds"),
    "ca_file": ((str,), "a path to a PEM file of trusted certificates"),
}
TOP_KEYS = {"state", "api_url", "smtp", "search"}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password_env: str | None = None
    sender: str = ""
    timeout: float = 30.0
    ca_file: str | None = None  # trust this CA (a private mail server) instead of the system's

    def password(self) -> str | None:
        """The password from its environment variable; ConfigError if the variable is unset."""
        if not self.password_env:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(f"environment variable {self.password_env} (smtp.password_env) is not set")
        return value


@dataclass(frozen=True)
class SavedSearch:
    name: str
    query: Query
    recipients: tuple[str, ...]
    send_empty: bool = False
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    profile: Any = field(default=None, compare=False)  # an eligibility Profile: items say if they fit

    @property
    def near(self) -> str | None:
        """The place as the user wrote it (for subjects: "near Boston, MA")."""
        return self.options.get("near")


@dataclass(frozen=True)
class Config:
    path: Path
    state: Path
    smtp: SmtpConfig | None
    searches: tuple[SavedSearch, ...]
    api_url: str | None = None

    def select(self, names: list[str]) -> list[SavedSearch]:
        """The searches named (all when none are), ConfigError for an unknown name."""
        if not names:
            return list(self.searches)
        known = {s.name: s for s in self.searches}
        missing = [n for n in names if n not in known]
        if missing:
            raise ConfigError(f"{self.path}: no saved search named {', '.join(map(repr, missing))}; "
                              f"known: {', '.join(known) or 'none'}")
        return [known[n] for n in names]


def default_state_path() -> Path:
    """``$TRIALFINDER_HOME/state.db``, else the user data directory."""
    home = os.environ.get("TRIALFINDER_HOME")
    if home:
        return Path(home).expanduser() / "state.db"
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "trialfinder" / "state.db"


def load_config(path: Path) -> Config:
    """Read and validate a configuration file; ConfigError names the file, key and reason."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (create one with 'trialfinder config init')") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    def fail(where: str, why: str) -> ConfigError:
        return ConfigError(f"{path}: {where}: {why}")

    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    state = raw.get("state")
    if state is not None and not isinstance(state, str):
        raise fail("state", "must be a file path")
    api_url = raw.get("api_url")
    if api_url is not None and (not isinstance(api_url, str) or not re.match(r"^https?://[^/\s]+", api_url)):
        raise fail("api_url", "must be an http(s) URL")
    smtp = _parse_smtp(raw.get("smtp"), fail) if "smtp" in raw else None
    entries = raw.get("search", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise fail("search", "must be [[search]] tables")
    if not entries:
        raise fail("search", "no [[search]] defined")
    searches = [_with_profile(_parse_search(e, i, fail), e, path, fail) for i, e in enumerate(entries)]
    names = [s.name for s in searches]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise fail(f"search {dupes[0]!r}", "two searches have this name")
    return Config(
        path=path,
        state=Path(state).expanduser() if state else default_state_path(),
        smtp=smtp,
        searches=tuple(searches),
        api_url=api_url,
    )


def _check_types(table: dict[str, Any], keys: dict[str, tuple[tuple[type, ...], str]], where: str, fail: Any) -> None:
    for key, value in table.items():
        if key not in keys:
            raise fail(f"{where}.{key}", f"unknown key (known: {', '.join(keys)})")
        types, description = keys[key]
        if isinstance(value, bool) and bool not in types:
            raise fail(f"{where}.{key}", f"must be {description}, not true/false")
        if not isinstance(value, types):
            raise fail(f"{where}.{key}", f"must be {description}, not {type(value).__name__}")
        if isinstance(value, list) and not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            raise fail(f"{where}.{key}", f"must be {description}")


def _parse_smtp(table: Any, fail: Any) -> SmtpConfig:
    if not isinstance(table, dict):
        raise fail("smtp", "must be a table")
    _check_types(table, SMTP_KEYS, "smtp", fail)
    if "host" not in table:
        raise fail("smtp.host", "missing")
    security = table.get("security", "starttls")
    if security not in SECURITY_PORTS:
        raise fail("smtp.security", "must be \"starttls\", \"ssl\" or \"none\"")
    port = table.get("port", SECURITY_PORTS[security])
    if not 0 < port < 65536:
        raise fail("smtp.port", f"{port} is not a port number")
    sender = table.get("from") or table.get("username") or ""
    if not sender or not valid_address(sender):
        raise fail("smtp.from", f"{sender!r} is not an e-mail address")
    if table.get("username") and not table.get("password_env"):
        raise fail("smtp.password_env", "needed with smtp.username (the password never lives in the file)")
    ca_file = table.get("ca_file")
    if ca_file is not None and not Path(ca_file).expanduser().is_file():
        raise fail("smtp.ca_file", f"{ca_file!r} is not a file")
    return SmtpConfig(
        host=table["host"], port=port, security=security, username=table.get("username"),
        password_env=table.get("password_env"), sender=sender, timeout=float(table.get("timeout", 30)),
        ca_file=str(Path(ca_file).expanduser()) if ca_file else None,
    )


def _parse_search(table: dict[str, Any], index: int, fail: Any) -> SavedSearch:
    name = table.get("name")
    where = f"search {name!r}" if isinstance(name, str) else f"search #{index + 1}"
    _check_types(table, SEARCH_KEYS, where, fail)
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail(f"{where}.name", "missing or not a short name (letters, digits, - _ .)")
    recipients = _as_list(table.get("recipients", []))
    if not recipients:
        raise fail(f"{where}.recipients", "missing: who should get this digest?")
    for address in recipients:
        if not valid_address(address):
            raise fail(f"{where}.recipients", f"{address!r} is not an e-mail address")
    options = {k: v for k, v in table.items() if k not in ("name", "recipients", "send_empty")}
    try:
        query = build_query(
            condition=options.get("condition", "multiple sclerosis"),
            interventions=_as_list(options.get("intervention", [])),
            drug_class=options.get("drug_class"),
            term=options.get("term", ""),
            near=options.get("near"),
            radius=str(options["radius"]) if "radius" in options else None,
            statuses=_as_list(options.get("status", [])),
            phases=[str(p) for p in _as_list(options.get("phase", []))],
            age=options.get("age"),
            sex=options.get("sex"),
            limit=options.get("limit"),
            include_off_condition=bool(options.get("include_off_condition", False)),
        )
    except InputError as exc:
        raise fail(where, str(exc)) from None
    return SavedSearch(name, query, tuple(recipients), bool(table.get("send_empty", False)), options)


def _with_profile(saved: SavedSearch, table: dict[str, Any], path: Path, fail: Any) -> SavedSearch:
    """The saved search with its ``profile`` (a file beside the config, or inline keys) loaded."""
    raw = table.get("profile")
    if raw is None:
        return saved
    from dataclasses import replace

    from .eligibility import load_profile, profile_from_mapping

    where = f"search {saved.name!r}.profile"
    try:
        if isinstance(raw, str):
            profile = load_profile(path.parent / Path(raw).expanduser())
        else:
            profile = profile_from_mapping(raw, where="profile")
    except InputError as exc:
        raise fail(where, str(exc)) from None
    return replace(saved, profile=profile)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value] if value not in (None, "") else []


def valid_address(text: str) -> bool:
    """``'a@example.org'`` or ``'Name <a@example.org>'``: one plausible address, no header tricks."""
    if "\n" in text or "\r" in text or len(getaddresses([text])) != 1:
        return False
    _, address = parseaddr(text)
    return bool(address) and bool(_ADDRESS.match(address))


EXAMPLE = '''\
# trialfinder configuration: saved searches e-mailed as digests by 'trialfinder digest'.
# Check it with 'trialfinder config check'. Every search option of 'trialfinder search'
# is a key of a [[search]] table with the same meaning.

# Where trialfinder remembers what it already reported (optional).
# state = "~/.local/share/trialfinder/state.db"

[smtp]
host = "smtp.example.org"
port = 587
security = "starttls"          # "starttls" (default) | "ssl" | "none"
username = "alerts@example.org"
password_env = "TRIALFINDER_SMTP_PASSWORD"   # the password itself never lives in this file
from = "MS trial alerts <alerts@example.org>"

[[search]]
name = "btk-boston"
condition = "multiple sclerosis"
drug_class = "btk"              # see 'trialfinder drug-classes'
near = "Boston, MA"             # a city, "City, ST", a US ZIP code or "lat,lon"
radius = "150mi"                # or "240km"
status = ["recruiting", "not-yet-recruiting"]
# phase = ["2", "3"]
# age = 45
# sex = "female"
# profile = "me.toml"           # say in each item whether the trial could fit you (README "Could I join?")
recipients = ["nurse@example.org"]
send_empty = false              # true: also mail when nothing changed
'''
