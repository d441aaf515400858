"""Retries wait, and wait longer each time (issue 11): the sleeps themselves are checked,
not only how many retries there were. Requests go to the loopback API stand-in."""

from __future__ import annotations

import pytest

from trialfinder.client import Client, RetryPolicy
from trialfinder.exceptions import APIError

from .fakeapi import FakeCTGov


def retrying_client(api: FakeCTGov, sleeps: list[float], tries: int = 4) -> Client:
    return Client(api.url, sleep=sleeps.append, retry=RetryPolicy(tries=tries, base=1.0, cap=8.0))


@pytest.mark.parametrize("kind, options", [("status", {"status": 503}), ("close", {})])
def test_retries_wait_between_tries_with_increasing_delays(api, kind, options):
    sleeps: list[float] = []
    api.add_fault(kind, times=3, **options)
    assert retrying_client(api, sleeps).version()["apiVersion"]
    assert [r.status for r in api.requests][-1] == 200 and len(api.requests) == 4
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps, start=1):
        step = 2.0 ** (attempt - 1)
        assert step / 2 <= delay <= step, (attempt, delay)  # never zero, never hammering
    assert sleeps[0] < sleeps[1] < sleeps[2], sleeps


def test_waits_are_capped_and_still_not_zero(api):
    sleeps: list[float] = []
    api.add_fault("status", times=None, status=503)
    with pytest.raises(APIError):
        Client(api.url, sleep=sleeps.append, retry=RetryPolicy(tries=7, base=1.0, cap=4.0)).version()
    assert len(sleeps) == 6 and len(api.requests) == 7
    assert all(2.0 <= delay <= 4.0 for delay in sleeps[2:]), sleeps
    assert all(delay > 0 for delay in sleeps)


@pytest.mark.parametrize("attempt", range(1, 9))
def test_every_delay_lies_in_its_step(attempt):
    policy = RetryPolicy(base=1.0, cap=30.0)
    step = min(30.0, 2.0 ** (attempt - 1))
    for _ in range(200):
        assert step / 2 <= policy.delay(attempt) <= step


def test_retry_after_is_the_wait_when_given(api):
    sleeps: list[float] = []
    api.add_fault("status", times=1, status=429, headers={"Retry-After": "3"})
    retrying_client(api, sleeps).version()
    assert sleeps == [3.0]


# -- what the client says and sends (written to kill surviving mutants) ---------------------


def test_retry_after_as_an_http_date_waits_until_then(api):
    import time
    from email.utils import formatdate

    sleeps: list[float] = []
    api.add_fault("status", times=1, status=503, headers={"Retry-After": formatdate(time.time() + 20, usegmt=True)})
    retrying_client(api, sleeps).version()
    [wait] = sleeps
    assert 17 <= wait <= 20.5, wait


def test_retry_after_in_the_past_retries_at_once(api):
    sleeps: list[float] = []
    api.add_fault("status", times=1, status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    retrying_client(api, sleeps).version()
    assert sleeps == [0.0]


def test_study_sends_the_fields_asked_for(api):
    from .e2e_support import PERSEUS, world

    api.set_studies(world())
    record = Client(api.url).study("nct4458051", fields=["NCTId", "BriefTitle"])
    assert api.requests[-1].params["fields"] == "NCTId,BriefTitle"
    assert record == {"protocolSection": {"identificationModule": {
        "nctId": PERSEUS, "briefTitle": record["protocolSection"]["identificationModule"]["briefTitle"]}}}
    Client(api.url).study(PERSEUS)
    assert "fields" not in api.requests[-1].params


def test_study_not_found_names_the_trial_and_keeps_the_answer(api):
    from trialfinder.exceptions import NotFound

    api.set_studies([])
    with pytest.raises(NotFound) as info:
        Client(api.url).study("NCT00000404")
    assert info.value.message == "no trial NCT00000404 on ClinicalTrials.gov"
    assert info.value.status_code == 404 and info.value.response.status_code == 404


@pytest.mark.parametrize("call, path, message", [
    (lambda c: c.study("NCT04458051"), "/studies/NCT04458051", "expected one study object"),
    (lambda c: c.version(), "/version", "expected a version object"),
])
def test_a_json_answer_of_the_wrong_shape_is_invalid(mocked, call, path, message):
    from trialfinder.exceptions import InvalidResponse

    from .conftest import API

    mocked.get(API + path, json=["not", "an", "object"])
    with pytest.raises(InvalidResponse) as info:
        call(Client(API))
    assert str(info.value) == message
    assert info.value.url == API + path


def test_transport_failures_say_what_happened(mocked):
    import requests

    from trialfinder.exceptions import TransportError

    from .conftest import API

    cases = [
        (requests.exceptions.ConnectTimeout("slow"), "timed out (2 tries)"),
        (requests.exceptions.ReadTimeout("slow"), "timed out (2 tries)"),
        (requests.exceptions.ChunkedEncodingError("cut"), "the connection broke off mid-answer (2 tries)"),
        (requests.ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection "
                                  "without response'))"),
         "the server closed the connection without answering (2 tries)"),
        (requests.ConnectionError("Connection refused"), "could not connect (2 tries)"),
    ]
    for error, message in cases:
        mocked.get(API + "/version", body=error)
        mocked.get(API + "/version", body=error)
        with pytest.raises(TransportError) as info:
            Client(API, sleep=lambda s: None, retry=RetryPolicy(tries=2)).version()
        assert str(info.value) == message, (error, str(info.value))
        assert info.value.url == API + "/version"
        mocked.reset()
