"""The ClinicalTrials.gov API v2 client: one session, timeouts, retries, pagination."""

from __future__ import annotations

import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from .deadline import Deadline, env_number
from .exceptions import (
    APIError,
    DeadlineExceeded,
    Forbidden,
    InvalidResponse,
    NotFound,
    ShortWalk,
    TransportError,
    error_for,
)
from .models import normalise_nct_id
from .transport import (
    Response,
    Transport,
    TransportFailure,
    TransportNotice,
    choose,
    forbidden_fix,
    is_challenge,
)

DEFAULT_API_URL = "https://clinicaltrials.gov/api/v2"
API_URL_ENV = "TRIALFINDER_API_URL"
PAGE_SIZE = 1000  # the API's maximum; larger values are silently capped
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
Decoder = Callable[[bytes], Any]  # a response body's bytes -> its JSON value
MIN_TRY = 0.1  # seconds: with less time left before the deadline, a try is not worth making


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``Retry-After`` honoured up to a cap.

    The jitter is "equal jitter": each wait lies between half and all of its
    exponential step, so retries never fire at once and waits grow try by try.
    """

    tries: int = 5
    base: float = 1.0
    cap: float = 30.0
    retry_after_cap: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try number ``attempt + 1`` (attempt counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        step = min(self.cap, self.base * 2 ** (attempt - 1))
        return random.uniform(step / 2, step)


@dataclass
class Page:
    """One page of ``GET /studies``."""

    studies: list[Any]
    next_page_token: str | None
    total_count: int | None


class Client:
    """A ClinicalTrials.gov API v2 client.

    >>> client = Client()                      # or Client("http://127.0.0.1:8765/api/v2")
    >>> for study in client.iter_studies({"query.cond": "multiple sclerosis"}): ...

    ``deadline`` (seconds from now, or a :class:`Deadline`) bounds all its requests
    together, retries included. ``transport`` replaces the one ``$TRIALFINDER_TRANSPORT``
    chooses (see :mod:`trialfinder.transport`); when none is given and curl_cffi is
    installed, a challenge (403, or HTML instead of JSON) switches the client to the
    browser-like transport for good, and ``notify`` (else a TransportNotice warning)
    says so once.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        deadline: Deadline | float | None = None,
        transport: Transport | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")
        self.timeout = timeout or (10.0, env_number("TRIALFINDER_TIMEOUT", 60.0))
        self.retry = retry or RetryPolicy(tries=int(env_number("TRIALFINDER_TRIES", 5, whole=True)))
        self.sleep = sleep or time.sleep
        self.deadline = Deadline(deadline) if isinstance(deadline, (int, float)) else deadline
        self.notify = notify
        self._fallback: Callable[[], Transport] | None = None
        if transport is None:
            transport, self._fallback = choose(session)
        self.transport = transport
        self._transports = [transport]
        self._switch_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Client {self.base_url}>"

    def close(self) -> None:
        for transport in self._transports:
            transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints ---------------------------------------------------------

    def study(self, nct_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        """``GET /studies/{nctId}``: one full record (redirects from aliases are followed)."""
        nct_id = normalise_nct_id(nct_id)
        params = {"fields": ",".join(fields)} if fields else {}
        try:
            data = self._get_json(f"/studies/{nct_id}", params)
        except NotFound as exc:
            raise NotFound(exc.response, f"no trial {nct_id} on ClinicalTrials.gov") from None
        if not isinstance(data, dict):
            raise InvalidResponse("expected one study object", self._url(f"/studies/{nct_id}"))
        return data

    def version(self) -> dict[str, Any]:
        """``GET /version``: the API version and the data's timestamp."""
        data = self._get_json("/version", {})
        if not isinstance(data, dict):
            raise InvalidResponse("expected a version object", self._url("/version"))
        return data

    def page(
        self, params: Mapping[str, str], token: str | None = None, *, decode: Decoder | None = None
    ) -> Page:
        """One page of ``GET /studies`` with ``params``; ``token`` continues a walk.

        ``decode`` turns the body's bytes into the page object (default: plain JSON);
        it raises ValueError for a body that is not JSON.
        """
        query = dict(params)
        query["pageSize"] = str(PAGE_SIZE)
        if token:
            query["pageToken"] = token
        else:
            query["countTotal"] = "true"
        data = self._get_json("/studies", query, decode)
        url = self._url("/studies")
        if not isinstance(data, dict) or not isinstance(data.get("studies"), list):
            raise InvalidResponse("the answer has no list of studies", url)
        next_token = data.get("nextPageToken")
        if next_token is not None and (not isinstance(next_token, str) or not next_token):
            raise InvalidResponse("the answer has a malformed nextPageToken", url)
        total = data.get("totalCount")
        return Page(data["studies"], next_token, total if isinstance(total, int) else None)

    def iter_studies(
        self,
        params: Mapping[str, str],
        max_pages: int = 10_000,
        *,
        prefetch: bool = True,
        decode: Decoder | None = None,
        on_page: Callable[[int, int | None], None] | None = None,
    ) -> Iterator[Any]:
        """Yield every study matching ``params``, following ``nextPageToken`` to the end.

        Every page repeats the first page's parameters, as the API requires.
        With ``prefetch`` the next page is fetched in the background while the
        caller works through the current one (one request in flight at a time);
        turn it off when the caller may stop early, to save the request. ``decode``
        is passed on to :meth:`page` (the studies are whatever it puts in ``studies``).
        Raises InvalidResponse when the walk loops or comes up short of the
        announced total, so a caller never mistakes a cut-short walk for the answer.
        ``on_page(fetched, total)`` is called as each page arrives (for progress).
        """
        url = self._url("/studies")
        seen_tokens: set[str] = set()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trialfinder-page")

        def fetch(token: str | None) -> Future[Page] | _Later:
            if prefetch:
                return pool.submit(self.page, params, token, decode=decode)
            return _Later(lambda: self.page(params, token, decode=decode))

        try:
            pending = fetch(None)
            total: int | None = None
            count = 0
            for number in range(max_pages):
                page = pending.result()
                if number == 0:
                    total = page.total_count
                count += len(page.studies)
                if on_page is not None:
                    on_page(count, total)
                token = page.next_page_token
                if token is not None:
                    if token in seen_tokens:
                        raise InvalidResponse("the API sent the same page token twice", url)
                    seen_tokens.add(token)
                    pending = fetch(token)
                yield from page.studies
                if token is None:
                    break
            else:
                raise InvalidResponse(f"gave up after {max_pages} pages", url)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if total is not None and count < total:
            raise ShortWalk(count, total, url)

    # -- transport ---------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _get_json(self, path: str, params: Mapping[str, str], decode: Decoder | None = None) -> Any:
        response = self._get(path, params)
        try:
            return decode(response.content) if decode else response.json()
        except (ValueError, requests.exceptions.RequestException) as exc:
            kind = response.headers.get("Content-Type", "no content type")
            raise InvalidResponse(
                f"the answer is not valid JSON ({kind}, {len(response.content)} bytes)",
                response.url,
            ) from exc

    def _get(self, path: str, params: Mapping[str, str]) -> Response:
        """GET with retries on connection errors, timeouts, 429 and 5xx, within the deadline."""
        url = self._url(path)
        attempt = 0
        last = ""
        while True:
            attempt += 1
            transport = self.transport
            try:
                response = transport.get(url, params, self._timeouts(url, last))
            except TransportFailure as exc:
                last = exc.what
                if not exc.retryable:
                    raise TransportError(f"request failed: {exc.what}", url) from exc
                self._check_deadline(url, last)
                if attempt >= self.retry.tries:
                    raise TransportError(f"{exc.what} ({attempt} tries)", url) from exc
                self._pause(self.retry.delay(attempt), url, last)
                continue
            if is_challenge(response) and self._switch(transport, response):
                attempt -= 1  # the same try again, through the browser-like transport
                continue
            if response.status_code < 400:
                return response
            error: APIError = error_for(response)
            if isinstance(error, Forbidden):
                error = Forbidden(response, fix=forbidden_fix(transport))
            if response.status_code not in RETRY_STATUSES or attempt >= self.retry.tries:
                raise error
            last = f"HTTP {response.status_code}"
            self._pause(self.retry.delay(attempt, _retry_after(response)), url, last)

    def _timeouts(self, url: str, last: str) -> tuple[float, float]:
        """The connect and read timeouts of the next try, capped by the time left."""
        if self.deadline is None:
            return self.timeout
        self._check_deadline(url, last)
        left = self.deadline.left()
        return (min(self.timeout[0], left), min(self.timeout[1], left))

    def _check_deadline(self, url: str, last: str) -> None:
        if self.deadline is not None and self.deadline.left() < MIN_TRY:
            raise DeadlineExceeded(_deadline_message(self.deadline, last), url)

    def _pause(self, delay: float, url: str, last: str) -> None:
        """Sleep before a retry; give up now if the deadline would pass first."""
        if self.deadline is not None and delay + MIN_TRY > self.deadline.left():
            raise DeadlineExceeded(_deadline_message(self.deadline, last), url)
        self.sleep(delay)

    def _switch(self, transport: Transport, response: Response) -> bool:
        """Move to the fallback transport after a challenge; False when there is none."""
        with self._switch_lock:
            if self.transport is not transport:
                return True  # another thread switched already
            if self._fallback is None:
                return False
            fallback, self._fallback = self._fallback(), None
            self.transport = fallback
            self._transports.append(fallback)
        what = (f"HTTP {response.status_code}" if response.status_code != 200
                else "an HTML page instead of JSON")
        message = (f"ClinicalTrials.gov answered {what} (a bot check?); "
                   f"retrying through the {fallback.label} transport")
        if self.notify is not None:
            self.notify(message)
        else:
            warnings.warn(message, TransportNotice, stacklevel=2)
        return True


class _Later:
    """A page fetched only when its ``result()`` is asked for, like a future that has not run."""

    def __init__(self, call: Callable[[], Page]) -> None:
        self.call = call

    def result(self) -> Page:
        return self.call()


def _retry_after(response: Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def _deadline_message(deadline: Deadline, last: str) -> str:
    cause = f" (last try: {last})" if last else ""
    return (f"no answer within the {deadline.seconds:g} s deadline{cause}; "
            "set TRIALFINDER_DEADLINE to allow longer")

