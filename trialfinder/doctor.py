"""``trialfinder doctor``: check, one thing at a time, that everything trialfinder needs works.

Each check gives a :class:`Check`: ``ok`` is True (passed), False (failed) or None
(skipped), with one line of detail. Nothing here sends mail or changes state.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .client import Client
from .config import Config, SmtpConfig, load_config
from .deadline import Deadline
from .exceptions import APIError, BadRequest, ConfigError, NotTheAPI, ServiceError, TrialfinderError
from .places import resolve_place
from .text import clean_line
from .transport import INSTALL_FIX, Transport, candidates, curl_available

KNOWN_PLACE = ("Boston, MA", 42.36, -71.06)  # a place the index must resolve, and where it is
TESTED_API_VERSION = "2.0.5"  # the version of fixtures/spec/ctg-oas-v2.yaml


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ``ok`` True, False, or None when skipped."""

    name: str
    ok: bool | None
    detail: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", clean_line(self.detail))  # one safe line, whatever the source

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def used_fields() -> tuple[str, ...]:
    """Every field piece trialfinder asks the API for: the ``*_FIELDS`` constants of its modules.

    A projection belongs in such a constant, so that this check (and the schema-drift
    test) covers it without being told.
    """
    import trialfinder

    found: dict[str, None] = {}
    for module_info in pkgutil.iter_modules(trialfinder.__path__):
        if module_info.name in ("cli", "__main__"):
            continue
        module = importlib.import_module(f"trialfinder.{module_info.name}")
        for name, value in sorted(vars(module).items()):
            if name.endswith("_FIELDS") and isinstance(value, (tuple, list, frozenset)):
                found.update((piece, None) for piece in value if isinstance(piece, str))
    return tuple(found)


# -- offline checks ------------------------------------------------------------------------


def check_config(path: Path, required: bool) -> tuple[Check, Config | None]:
    """Load the configuration at ``path``; when it does not exist and is not ``required``, skip."""
    if not required and not path.exists():
        return Check("config", None, f"none at {path} (only 'digest' needs one)"), None
    try:
        config = load_config(path)
    except ConfigError as exc:
        return Check("config", False, str(exc)), None
    names = ", ".join(s.name for s in config.searches) or "none"
    mail = f"; smtp {config.smtp.host}:{config.smtp.port}" if config.smtp else "; no [smtp] table"
    count = len(config.searches)
    return Check("config", True, f"{path}: {count} saved search{'es' if count != 1 else ''} "
                                 f"({names}){mail}"), config


def check_places() -> Check:
    """The place index loads and resolves a known place to where it is."""
    text, lat, lon = KNOWN_PLACE
    try:
        place = resolve_place(text)
    except (TrialfinderError, OSError) as exc:
        return Check("places", False, f"the place index failed on {text!r}: {exc}")
    where = f"{place.name} ({place.lat:.4f}, {place.lon:.4f})"
    if abs(place.lat - lat) > 0.5 or abs(place.lon - lon) > 0.5:
        return Check("places", False, f"{text!r} resolves to {where}, expected near {lat}, {lon}")
    return Check("places", True, f"place index: {text!r} resolves to {where}")


# -- the API -------------------------------------------------------------------------------


def check_api(base_url: str | None, deadline: Deadline) -> Iterator[Check]:
    """Reachability, the transport that works, ``/version``, and a projected search.

    Every transport this environment may use is tried on ``/version``; the search
    then goes through the first that got through.
    """
    tried: list[tuple[Transport, bool, str]] = []  # transport, got through, problem
    version: dict[str, Any] | None = None
    url = ""
    hint = ""  # which URL to try, when this one is not the API
    for _, make in candidates():
        client = Client(base_url, deadline=deadline, transport=make())
        url = client.base_url
        try:
            answer = client.version()
        except ServiceError as exc:
            tried.append((client.transport, False, _describe(exc)))
            hint = hint or (exc.hint() if isinstance(exc, NotTheAPI) else "")
            continue
        tried.append((client.transport, True, ""))
        version = version or answer
    try:
        yield from _api_checks(base_url, url, deadline, tried, version, hint)
    finally:
        for transport, _, _ in tried:
            transport.close()


def _api_checks(
    base_url: str | None, url: str, deadline: Deadline,
    tried: list[tuple[Transport, bool, str]], version: dict[str, Any] | None, hint: str = "",
) -> Iterator[Check]:
    working = [t for t, ok, _ in tried if ok]
    problems = "; ".join(f"{t.name}: {why}" for t, ok, why in tried if not ok)
    if version is None:
        yield Check("api", False, f"{url} gave no API answer: {problems}" + (f" ({hint})" if hint else ""))
        yield Check("transport", False, "no transport gets through" + _install_hint())
        yield Check("version", None, "skipped: no API answer")
        yield Check("fields", None, "skipped: no API answer")
        return
    yield Check("api", True, f"{url} answers")
    through = ", ".join(t.label for t in working)
    refused = f"; {problems}" if problems else ""
    yield Check("transport", True, f"gets through: {through}{refused}" + ("" if refused else _install_hint()))
    yield _version_check(version)
    yield check_fields(Client(base_url, deadline=deadline, transport=working[0]))


def check_fields(client: Client) -> Check:
    """One small search projected on every field piece trialfinder uses."""
    fields = used_fields()
    params = {"query.cond": "multiple sclerosis", "fields": ",".join(fields), "pageSize": "1"}
    try:
        data = client._get_json("/studies", params)
    except BadRequest as exc:
        return Check("fields", False, f"the API refused a field trialfinder uses: {exc.message or exc}")
    except ServiceError as exc:
        return Check("fields", False, _describe(exc))
    if not isinstance(data, dict) or not isinstance(data.get("studies"), list):
        return Check("fields", False, "the projected search did not answer with a list of studies")
    return Check("fields", True, f"a search projected on the {len(fields)} field pieces trialfinder uses works")


def _version_check(answer: dict[str, Any]) -> Check:
    api = clean_line(str(answer.get("apiVersion", "?")))
    stamp = clean_line(str(answer.get("dataTimestamp", "?")))
    newer = "" if api == TESTED_API_VERSION else f" (trialfinder was checked against {TESTED_API_VERSION})"
    return Check("version", True, f"API {api}, data of {stamp} UTC{newer}")


def _install_hint() -> str:
    return "" if curl_available() else f"; the browser-like transport is not installed ({INSTALL_FIX})"


def _describe(exc: Exception) -> str:
    """The error in a few words: an HTTP error without the advice a command would add."""
    if isinstance(exc, APIError):
        return clean_line(f"HTTP {exc.status_code}" + (f": {exc.message}" if exc.message else ""))
    return clean_line(str(exc))


# -- mail ----------------------------------------------------------------------------------


def check_smtp(smtp: SmtpConfig | None, deadline: Deadline | None = None) -> Check:
    """Connect to the mail server, EHLO, STARTTLS and log in as configured, send nothing, QUIT."""
    if smtp is None:
        return Check("smtp", False, "no [smtp] table in the configuration")
    where = f"{smtp.host}:{smtp.port}"
    timeout = smtp.timeout if deadline is None else min(smtp.timeout, deadline.left())
    if not (timeout > 0 and math.isfinite(timeout)):
        return Check("smtp", False, f"SMTP {where}: no time left before the deadline")
    steps = []
    try:
        password = smtp.password()
        context = ssl.create_default_context(cafile=smtp.ca_file)
        if smtp.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
            steps.append("TLS")
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with server:
            code, _ = server.ehlo()
            if not 200 <= code < 300:
                return Check("smtp", False, f"SMTP {where}: EHLO refused ({code})")
            steps.append("EHLO")
            if smtp.security == "starttls":
                server.starttls(context=context)
                server.ehlo()
                steps.append("STARTTLS")
            if smtp.username:
                server.login(smtp.username, password or "")
                steps.append(f"login as {smtp.username}")
    except ConfigError as exc:
        return Check("smtp", False, str(exc))
    except smtplib.SMTPAuthenticationError as exc:
        return Check("smtp", False, f"SMTP {where}: login refused for {smtp.username} ({exc.smtp_code})")
    except smtplib.SMTPResponseException as exc:
        message = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return Check("smtp", False, f"SMTP {where}: {exc.smtp_code} {clean_line(str(message))}")
    except ssl.SSLError as exc:
        return Check("smtp", False, f"SMTP {where}: TLS failed: {exc.reason or exc}")
    except (OSError, smtplib.SMTPException) as exc:
        return Check("smtp", False, f"SMTP {where}: {exc.__class__.__name__}: {clean_line(str(exc))}")
    return Check("smtp", True, f"SMTP {where}: {', '.join(steps)} OK; nothing sent")
