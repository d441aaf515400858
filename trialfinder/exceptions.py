"""Exceptions raised by the trialfinder library.

Two families: :class:`InputError` (the caller asked for something impossible:
an unknown place, a bad radius) and :class:`ServiceError` (talking to
ClinicalTrials.gov or a mail server failed). The CLI maps the first to exit
status 2 and the second to exit status 1.
"""

from __future__ import annotations

import re
from typing import Any


class TrialfinderError(Exception):
    """Base class of every error trialfinder raises on purpose."""


class InputError(TrialfinderError, ValueError):
    """The caller's input cannot be used."""


PLACE_FORMS = "a city ('Lyon, France'), a US ZIP code, 'latitude, longitude', a US state or a country"


class PlaceNotFound(InputError):
    """A place name, ZIP code or coordinate pair could not be resolved."""

    def __init__(self, text: str, suggestions: list[str] | None = None) -> None:
        self.text = text
        self.suggestions = list(suggestions or [])
        message = f"unknown place {text!r}"
        if self.suggestions:
            message += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        else:  # nothing close: say what is understood
            message += f": give {PLACE_FORMS}"
        super().__init__(message)


class ConfigError(InputError):
    """A configuration file is missing, unreadable or invalid."""


class ServiceError(TrialfinderError):
    """Talking to a remote service failed."""


class TransportError(ServiceError):
    """The request never got an HTTP answer (connection refused, reset, timed out)."""

    def __init__(self, message: str, url: str = "", method: str = "GET") -> None:
        self.url = url
        self.method = method
        super().__init__(message)


class DeadlineExceeded(TransportError):
    """The command's overall deadline (``TRIALFINDER_DEADLINE``) passed before an answer came."""


class APIError(ServiceError):
    """ClinicalTrials.gov answered with an error status; carries its plain-text message."""

    def __init__(self, response: Any, message: str | None = None) -> None:
        self.response = response
        self.status_code: int = getattr(response, "status_code", 0)
        self.url: str = getattr(response, "url", "") or ""
        self.method: str = getattr(getattr(response, "request", None), "method", "GET") or "GET"
        self.message = message if message is not None else _body_message(response)
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: the status, the API's own message, and a hint if any."""
        reason = getattr(self.response, "reason", "") or ""
        text = f"HTTP {self.status_code}" + (f" {reason}" if reason else "")
        if self.message:
            text += f": {self.message}"
        hint = self.hint()
        return f"{text} ({hint})" if hint else text

    def hint(self) -> str:
        """What the user could try; empty when there is nothing useful to say."""
        return ""


class BadRequest(APIError):
    """HTTP 400: the API rejected the query's parameters."""


class Forbidden(APIError):
    """HTTP 403: the service refused this client; ``fix`` says what to try (set by the client)."""

    def __init__(self, response: Any, message: str | None = None, *, fix: str = "") -> None:
        self.fix = fix
        super().__init__(response, message)

    def hint(self) -> str:
        return self.fix or (
            "ClinicalTrials.gov refused this client; this happens on some networks and VPNs. "
            "Try again later, from another network, or through a mirror with --api-url"
        )


class NotFound(APIError):
    """HTTP 404: no such trial (or no such endpoint)."""


class NotTheAPI(APIError):
    """HTTP 404 that is not the API's own answer: the base URL is not the API v2.

    The API says a study does not exist with a ``text/plain`` body naming it
    ("NCT number NCT99999999 not found"); an HTML page, or a 404 for a search, comes
    from a server (or path) that is not the API, so no trial may be called missing.
    """

    def hint(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        guess = "https://clinicaltrials.gov/api/v2"
        if parts.netloc and "/api/v2/" not in parts.path + "/":
            guess = f"{parts.scheme}://{parts.netloc}/api/v2"
        return f"this URL is not the ClinicalTrials.gov API; check --api-url or TRIALFINDER_API_URL: try {guess}"


class RateLimited(APIError):
    """HTTP 429: too many requests, still refused after retrying."""

    def hint(self) -> str:
        return "the service is rate-limiting this client; wait a few minutes and try again"


class ServerError(APIError):
    """HTTP 5xx: the service failed, still failing after retrying."""

    def hint(self) -> str:
        return "the service is having trouble; try again later"


class InvalidResponse(ServiceError):
    """A 2xx answer whose body is not the JSON the API documents (a proxy page, truncated JSON)."""

    def __init__(self, message: str, url: str = "", method: str = "GET") -> None:
        self.url = url
        self.method = method
        super().__init__(message)


class ShortWalk(InvalidResponse):
    """A walk of pages ended short of the announced total: the data changed mid-walk."""

    def __init__(self, count: int, total: int, url: str = "") -> None:
        super().__init__(f"the walk ended after {count:,} of {total:,} studies (the data changed mid-walk)", url)
        self.count, self.total = count, total


class RecordError(TrialfinderError, ValueError):
    """A study record from the API lacks a field trialfinder cannot do without."""


class MailError(ServiceError):
    """The mail server refused or failed to accept a message."""


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def error_for(response: Any) -> APIError:
    """The exception for an HTTP error response, chosen by its status code."""
    status = getattr(response, "status_code", 0)
    if status == 404 and not api_says_missing(response):
        return NotTheAPI(response)
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(response)


_MISSING_STUDY = re.compile(r"\bNCT\d{8}\b.*\bnot found\b", re.IGNORECASE | re.DOTALL)


def api_says_missing(response: Any) -> bool:
    """Is this 404 the API's own "NCT number ... not found" (REFERENCE.md s5.1)?"""
    content_type = ((getattr(response, "headers", {}) or {}).get("Content-Type", "") or "").lower()
    try:
        body = response.text or ""
    except Exception:  # pragma: no cover - a body that cannot be decoded
        return False
    return content_type.startswith("text/plain") and bool(_MISSING_STUDY.search(body[:1000]))


def _body_message(response: Any, limit: int = 300) -> str:
    """The API's plain-text error message, cleaned to one short line."""
    from .text import clean_line

    try:
        body = response.text or ""
    except Exception:  # pragma: no cover - a body that cannot be decoded
        return ""
    content_type = (getattr(response, "headers", {}) or {}).get("Content-Type", "")
    if "html" in content_type.lower() or body.lstrip().startswith("<"):
        return "the server sent an HTML page instead of an API answer"
    line = clean_line(body)
    return line if len(line) <= limit else line[: limit - 1] + "…"
