"""Transports and the deadline: the browser-like fallback over a real loopback socket,
the User-Agent rules, and the overall deadline that caps timeouts and retry sleeps."""

from __future__ import annotations

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from trialfinder import __version__, transport
from trialfinder.client import Client, RetryPolicy
from trialfinder.deadline import Deadline, deadline_seconds
from trialfinder.exceptions import (
    DeadlineExceeded,
    Forbidden,
    InputError,
    InvalidResponse,
    TransportError,
)
from trialfinder.transport import INSTALL_FIX, CurlTransport, RequestsTransport, TransportNotice

from .conftest import API
from .datagen import generate_studies
from .fakeapi import FakeCTGov

PARAMS = {"query.cond": "multiple sclerosis"}
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def agents(api):
    return [{k.lower(): v for k, v in r.headers.items()}.get("user-agent", "") for r in api.requests]


def notes_client(api, **kwargs):
    notes: list[str] = []
    return Client(api.url, notify=notes.append, retry=RetryPolicy(tries=2, base=0.01), **kwargs), notes


# -- the fallback ------------------------------------------------------------------------


def test_a_403_challenge_switches_to_the_browser_like_transport_once_for_good(api):
    api.add_fault("challenge", times=None)
    client, notes = notes_client(api)
    assert client.version()["apiVersion"] == "2.0.5"
    assert len(list(client.iter_studies(PARAMS))) == 5
    assert client.study("NCT04458051")["protocolSection"]["identificationModule"]["nctId"] == "NCT04458051"
    assert [(r.status, r.fault) for r in api.requests] == [(403, "challenge")] + [(200, None)] * 3
    ua = agents(api)
    assert ua[0] == f"trialfinder/{__version__}"
    assert all(a.startswith("Mozilla/5.0 (") for a in ua[1:]), ua
    assert len(notes) == 1 and "HTTP 403" in notes[0] and "curl_cffi" in notes[0]
    assert client.transport.name == "curl"


def test_a_200_html_challenge_page_switches_too(api):
    api.add_fault("challenge", status=200, times=None)
    client, notes = notes_client(api)
    assert len(list(client.iter_studies(PARAMS))) == 5
    assert [r.status for r in api.requests] == [200, 200] and api.requests[0].fault == "challenge"
    assert "an HTML page instead of JSON" in notes[0]


def test_the_switch_is_a_warning_when_no_callback_is_given(api):
    api.add_fault("challenge")
    client = Client(api.url)
    with pytest.warns(TransportNotice, match="browser-like"):
        client.version()


def test_a_walk_of_several_pages_switches_once_in_the_prefetch_thread():
    with FakeCTGov(generate_studies(2100, seed=3)) as big:
        big.add_fault("challenge", times=None, after=1)  # page 1 passes; page 2 is challenged
        client, notes = notes_client(big)
        assert len(list(client.iter_studies({}))) == 2100
        assert [r.status for r in big.requests] == [200, 403, 200, 200]
        assert len(notes) == 1


def test_refused_even_through_curl_is_forbidden_with_advice(api):
    api.add_fault("status", times=None, status=403, content_type="text/html", body="<html>denied</html>")
    client, notes = notes_client(api)
    with pytest.raises(Forbidden) as err:
        client.version()
    assert "even through the browser-like transport" in str(err.value)
    assert [r.status for r in api.requests] == [403, 403] and len(notes) == 1


def test_html_through_both_transports_is_an_invalid_response(api):
    api.add_fault("html200", times=None)
    client, notes = notes_client(api)
    with pytest.raises(InvalidResponse, match="text/html"):
        client.version()
    assert len(api.requests) == 2 and len(notes) == 1


def test_forced_requests_never_falls_back(api, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "requests")
    api.add_fault("challenge", times=None)
    client, notes = notes_client(api)
    with pytest.raises(Forbidden, match="TRIALFINDER_TRANSPORT=requests"):
        client.version()
    assert notes == [] and len(api.requests) == 1


def test_forced_curl_speaks_as_a_browser_from_the_start(api, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "curl")
    api.add_fault("challenge", times=None)
    client, notes = notes_client(api)
    assert len(list(client.iter_studies(PARAMS))) == 5
    assert notes == [] and [r.status for r in api.requests] == [200]
    assert agents(api)[0].startswith("Mozilla/5.0 (")


def test_without_curl_cffi_a_403_names_the_fix(api, monkeypatch):
    monkeypatch.setattr(transport, "curl_available", lambda: False)
    api.add_fault("challenge", times=None)
    client, notes = notes_client(api)
    with pytest.raises(Forbidden) as err:
        client.version()
    assert INSTALL_FIX in str(err.value) and "refused this client" in str(err.value)
    assert notes == [] and len(api.requests) == 1


def test_forcing_curl_without_curl_cffi_is_an_input_error_naming_the_fix(monkeypatch):
    monkeypatch.setattr(transport, "curl_available", lambda: False)
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "curl")
    with pytest.raises(InputError, match=r"pip install 'trialfinder\[impersonate\]'"):
        Client(API)


def test_an_unknown_transport_is_an_input_error(monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "httpx")
    with pytest.raises(InputError, match="requests, curl"):
        Client(API)


# -- User-Agent ----------------------------------------------------------------------------


def test_user_agent_override_is_sent_over_requests(api, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_USER_AGENT", "ms-clinic-bot/1.0 (ops@example.org)")
    Client(api.url).version()
    assert agents(api) == ["ms-clinic-bot/1.0 (ops@example.org)"]


def test_user_agent_override_replaces_the_browsers_over_curl(api, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "curl")
    monkeypatch.setenv("TRIALFINDER_USER_AGENT", CHROME)
    Client(api.url).version()
    assert agents(api) == [CHROME]


@pytest.mark.parametrize("mode", ["requests", "auto"])
def test_a_browser_user_agent_is_never_sent_over_requests(monkeypatch, mode):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", mode)
    monkeypatch.setenv("TRIALFINDER_USER_AGENT", CHROME)
    with pytest.raises(InputError, match="bot signal"):
        Client(API)
    with pytest.raises(InputError):
        RequestsTransport(user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)")


def test_a_user_agent_with_a_line_break_is_refused(monkeypatch):
    monkeypatch.setenv("TRIALFINDER_USER_AGENT", "bot/1\r\nX-Evil: 1")
    with pytest.raises(InputError, match="one line"):
        Client(API)


# -- curl failures read like requests failures --------------------------------------------


@pytest.mark.parametrize("kind, options, what", [
    ("stall", {"seconds": 3}, "timed out"),
    ("close", {}, "the server closed the connection without answering"),
])
def test_curl_transport_failures_are_described_and_retried(api, kind, options, what):
    api.add_fault(kind, times=None, **options)
    client = Client(api.url, transport=CurlTransport(), timeout=(1.0, 0.5),
                    retry=RetryPolicy(tries=2, base=0.01))
    with pytest.raises(TransportError, match=rf"{what} \(2 tries\)"):
        client.version()


# -- the deadline ------------------------------------------------------------------------


class Clock:
    """A clock that moves only when the client sleeps (or a test moves it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_timeouts_are_capped_by_the_time_left(mocked, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "requests")
    clock = Clock()
    client = Client(API, deadline=Deadline(25.0, clock), sleep=clock.sleep)
    mocked.get(f"{API}/version", json={"apiVersion": "2.0.5"})
    mocked.get(f"{API}/version", json={"apiVersion": "2.0.5"})
    client.version()
    clock.now += 20.0
    client.version()
    assert [c.request.req_kwargs["timeout"] for c in mocked.calls] == [(10.0, 25.0), (5.0, 5.0)]


def test_a_retry_sleep_that_would_pass_the_deadline_gives_up_at_once(mocked, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "requests")
    clock = Clock()
    client = Client(API, deadline=Deadline(20.0, clock), sleep=clock.sleep)
    mocked.get(f"{API}/version", status=503, headers={"Retry-After": "2"})
    mocked.get(f"{API}/version", status=503, headers={"Retry-After": "30"})
    with pytest.raises(DeadlineExceeded) as err:
        client.version()
    assert clock.sleeps == [2.0]  # the first wait fits; the second would not, so no sleep
    assert err.value.url == f"{API}/version"
    assert "20 s deadline (last try: HTTP 503)" in str(err.value)


def test_no_try_is_made_once_the_deadline_has_passed(mocked, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "requests")
    clock = Clock()
    client = Client(API, deadline=Deadline(5.0, clock), sleep=clock.sleep)
    clock.now += 5.0
    with pytest.raises(DeadlineExceeded, match="TRIALFINDER_DEADLINE"):
        client.version()
    assert len(mocked.calls) == 0


def test_a_stalled_server_ends_at_the_deadline_not_after_every_try(api, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "requests")
    api.add_fault("stall", times=None, seconds=10)
    client = Client(api.url, deadline=0.8, timeout=(10.0, 60.0), retry=RetryPolicy(tries=5))
    with pytest.raises(DeadlineExceeded, match="last try: timed out"):
        client.version()
    assert client.deadline is not None and client.deadline.left() == 0.0


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf"])
def test_a_bad_deadline_setting_is_an_input_error(monkeypatch, value):
    monkeypatch.setenv("TRIALFINDER_DEADLINE", value)
    with pytest.raises(InputError, match="TRIALFINDER_DEADLINE"):
        deadline_seconds(120.0)


def test_the_deadline_setting_and_its_default(monkeypatch):
    assert deadline_seconds(120.0) == 120.0
    monkeypatch.setenv("TRIALFINDER_DEADLINE", " 7.5 ")
    assert deadline_seconds(120.0) == 7.5


def test_no_warning_without_a_switch(api):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Client(api.url).version()


def test_the_deadline_error_names_the_limit_the_request_and_the_setting(mocked, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "requests")
    clock = Clock()
    client = Client(API, deadline=Deadline(5.0, clock), sleep=clock.sleep)
    clock.now += 5.0
    with pytest.raises(DeadlineExceeded) as err:
        client.version()
    # No try was made, so there is no "last try" to name.
    assert str(err.value) == "no answer within the 5 s deadline; set TRIALFINDER_DEADLINE to allow longer"
    assert err.value.url == f"{API}/version"


def test_a_wait_that_leaves_too_little_time_for_a_try_gives_up_at_once(mocked, monkeypatch):
    """Retry-After 19.95 s with 20 s left would leave 0.05 s for the try: not worth the wait."""
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "requests")
    clock = Clock()
    client = Client(API, deadline=Deadline(20.0, clock), sleep=clock.sleep)
    mocked.get(f"{API}/version", status=503, headers={"Retry-After": "19.95"})
    with pytest.raises(DeadlineExceeded, match="last try: HTTP 503"):
        client.version()
    assert clock.sleeps == [] and len(mocked.calls) == 1


def test_two_requests_challenged_at_once_both_go_through_the_fallback(api, monkeypatch):
    """The second thread finds the switch already made by the first: it retries, never fails."""
    api.add_fault("challenge", times=None)
    both = threading.Barrier(2)
    plain_get = RequestsTransport.get

    def get(self, *args):
        response = plain_get(self, *args)
        both.wait(timeout=10)  # neither answer is looked at before both were challenged
        return response

    monkeypatch.setattr(RequestsTransport, "get", get)
    client, notes = notes_client(api)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: client.version(), range(2)))
    assert [a["apiVersion"] for a in answers] == ["2.0.5", "2.0.5"]
    assert sorted(r.status for r in api.requests) == [200, 200, 403, 403]
    assert len(notes) == 1 and client.transport.name == "curl"
