"""How requests reach ClinicalTrials.gov: plain ``requests``, or a browser-like ``curl_cffi``.

ClinicalTrials.gov sits behind a CDN whose bot scoring combines the TLS fingerprint,
whether the User-Agent matches it, and the network. Some networks get an HTML
challenge (usually HTTP 403) instead of the API's JSON. :class:`CurlTransport`
impersonates a current browser (TLS and HTTP/2 fingerprint with the matching
headers) through the optional ``curl_cffi`` package; the client falls back to it on
a challenge. A browser User-Agent is never sent over the ``requests`` TLS stack: that
mismatch is itself a bot signal.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import requests

from . import __version__
from .exceptions import InputError

TRANSPORT_ENV = "TRIALFINDER_TRANSPORT"
USER_AGENT_ENV = "TRIALFINDER_USER_AGENT"
INSTALL_FIX = "pip install 'trialfinder[impersonate]'"
IMPERSONATE = "chrome"  # curl_cffi's newest Chrome: a pinned version would go stale
_BROWSER = re.compile(r"\b(?:Mozilla|AppleWebKit|Chrome|Safari|Firefox|Gecko|Edg|OPR)/", re.I)


class Response(Protocol):
    """What the client reads from an answer (``requests`` and ``curl_cffi`` both fit)."""

    status_code: int
    url: str
    reason: Any

    @property
    def headers(self) -> Any: ...

    @property
    def content(self) -> bytes: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class TransportFailure(Exception):
    """No complete HTTP answer. ``what`` says why in a few words; ``retryable`` whether to try again."""

    def __init__(self, what: str, retryable: bool = True) -> None:
        super().__init__(what)
        self.what = what
        self.retryable = retryable


class TransportNotice(UserWarning):
    """The client switched transports (warned when the client has no ``notify`` callback)."""


class Transport:
    """One way of sending a GET. Subclasses implement :meth:`get` and :meth:`close`."""

    name = "?"
    label = "?"

    def get(self, url: str, params: Mapping[str, str], timeout: tuple[float, float]) -> Response:
        """GET ``url`` with ``params``; the body is read in full. Raises TransportFailure."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class RequestsTransport(Transport):
    """Plain ``requests``, announcing itself honestly as trialfinder."""

    name = "requests"
    label = "requests (plain HTTP client)"

    def __init__(self, session: requests.Session | None = None, user_agent: str | None = None) -> None:
        agent = user_agent or f"trialfinder/{__version__}"
        if looks_like_browser(agent):
            raise InputError(
                f"{USER_AGENT_ENV} looks like a browser's; over the plain requests transport that "
                "mismatch is itself a bot signal. Use a non-browser agent, or the browser-like "
                f"transport: {TRANSPORT_ENV}=curl ({INSTALL_FIX})"
            )
        self.session = session or requests.Session()
        self.session.headers.update(
            {"User-Agent": agent, "Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
        )

    def get(self, url: str, params: Mapping[str, str], timeout: tuple[float, float]) -> Response:
        try:
            response = self.session.get(url, params=dict(params), timeout=timeout)
            # Read the body inside the try: a reset mid-body is a transport error too.
            _ = response.content
        except requests.Timeout as exc:
            raise TransportFailure("timed out") from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise TransportFailure("the connection broke off mid-answer") from exc
        except requests.ConnectionError as exc:
            closed = "Remote end closed" in str(exc)
            raise TransportFailure(
                "the server closed the connection without answering" if closed else "could not connect"
            ) from exc
        except requests.RequestException as exc:
            raise TransportFailure(exc.__class__.__name__, retryable=False) from exc
        return response

    def close(self) -> None:
        self.session.close()


class CurlTransport(Transport):
    """``curl_cffi`` impersonating a current Chrome: its TLS fingerprint and its own headers."""

    name = "curl"
    label = "curl_cffi (browser-like)"

    def __init__(self, user_agent: str | None = None) -> None:
        try:
            from curl_cffi import requests as curl_requests
        except ImportError as exc:
            raise InputError(f"the browser-like transport needs curl_cffi: {INSTALL_FIX}") from exc
        self._errors = curl_requests.exceptions
        self.session: Any = curl_requests.Session(impersonate=IMPERSONATE)  # type: ignore[arg-type]
        # The browser's own User-Agent matches its fingerprint; only an explicit choice replaces it.
        self.session.headers["Accept"] = "application/json, text/plain, */*"
        if user_agent:
            self.session.headers["User-Agent"] = user_agent

    def get(self, url: str, params: Mapping[str, str], timeout: tuple[float, float]) -> Response:
        connect, read = timeout
        errors = self._errors
        try:
            # curl limits the whole transfer, not each read: the read timeout bounds the total.
            response = self.session.get(url, params=dict(params), timeout=(min(connect, read), read))
            _ = response.content
        except errors.Timeout as exc:
            raise TransportFailure("timed out") from exc
        except (errors.ChunkedEncodingError, errors.IncompleteRead) as exc:
            raise TransportFailure("the connection broke off mid-answer") from exc
        except errors.ConnectionError as exc:
            code = getattr(exc, "code", 0)
            what = {52: "the server closed the connection without answering",
                    18: "the connection broke off mid-answer",
                    56: "the connection broke off mid-answer"}.get(int(code or 0), "could not connect")
            raise TransportFailure(what) from exc
        except errors.RequestException as exc:
            raise TransportFailure(f"curl error {getattr(exc, 'code', '?')}", retryable=False) from exc
        return response  # type: ignore[return-value]

    def close(self) -> None:
        self.session.close()


def curl_available() -> bool:
    """Whether ``curl_cffi`` is installed (without importing it: start-up stays fast)."""
    return importlib.util.find_spec("curl_cffi") is not None


def looks_like_browser(agent: str) -> bool:
    """Whether a User-Agent claims to be a web browser."""
    return bool(_BROWSER.search(agent))


def user_agent_from_env() -> str | None:
    """``$TRIALFINDER_USER_AGENT``, checked to be a usable header value; None when unset."""
    agent = os.environ.get(USER_AGENT_ENV, "").strip()
    if not agent:
        return None
    if not agent.isprintable() or not agent.isascii():
        raise InputError(f"{USER_AGENT_ENV} must be printable ASCII on one line")
    return agent


def choose(
    session: requests.Session | None = None,
) -> tuple[Transport, Callable[[], Transport] | None]:
    """The transport to start with, and how to make the fallback for a challenge (or None).

    ``$TRIALFINDER_TRANSPORT`` is ``requests`` or ``curl`` to force one (no fallback);
    unset or ``auto``: requests first, then curl_cffi if it is installed.
    """
    found = candidates()
    if found[0][0] == "curl":
        return found[0][1](), None
    first = RequestsTransport(session, user_agent_from_env())
    return first, (found[1][1] if len(found) > 1 else None)


def candidates() -> list[tuple[str, Callable[[], Transport]]]:
    """Every transport this environment may use, by name, in the order the client tries them."""
    wanted = os.environ.get(TRANSPORT_ENV, "").strip().lower() or "auto"
    if wanted not in ("auto", "requests", "curl"):
        raise InputError(f"{TRANSPORT_ENV}={wanted!r} is not one of: requests, curl (or unset)")
    agent = user_agent_from_env()
    if wanted == "curl" and not curl_available():
        raise InputError(f"{TRANSPORT_ENV}=curl needs curl_cffi: {INSTALL_FIX}")
    found: list[tuple[str, Callable[[], Transport]]] = []
    if wanted in ("auto", "requests"):
        found.append(("requests", lambda: RequestsTransport(None, agent)))
    if wanted == "curl" or (wanted == "auto" and curl_available()):
        found.append(("curl", lambda: CurlTransport(agent)))
    return found


def is_challenge(response: Response) -> bool:
    """A 403, or an HTML page where JSON belongs: what a CDN's bot check answers."""
    if response.status_code == 403:
        return True
    kind = str(response.headers.get("Content-Type", "")).lower()
    return response.status_code == 200 and "text/html" in kind


def forbidden_fix(transport: Transport) -> str:
    """What to try after a 403 that ``transport`` got and no other transport is left to try."""
    if transport.name == "curl":
        return ("ClinicalTrials.gov refused this client even through the browser-like transport; "
                "try again later, from another network, or through a mirror with --api-url")
    if os.environ.get(TRANSPORT_ENV, "").strip().lower() == "requests":
        return (f"ClinicalTrials.gov refused this client; {TRANSPORT_ENV}=requests turned off the "
                f"browser-like transport: unset it (or try {TRANSPORT_ENV}=curl), "
                "or use another network or a mirror with --api-url")
    if curl_available():
        return ("ClinicalTrials.gov refused this client; the browser-like transport (curl_cffi) "
                "may get through, or use another network or a mirror with --api-url")
    return (f"ClinicalTrials.gov refused this client; install the browser-like transport: {INSTALL_FIX}"
            " (or try another network, or a mirror with --api-url)")
