"""Retries wait, and wait longer each time (issue 11): the sleeps themselves are checked,
not only how many retries there were. Requests go to the loopback API stand-in."""

from __future__ import annotations

import pytest

from trialfinder.client import Client, RetryPolicy
from trialfinder.exceptions import APIError

from .fakeapi import FakeCTGov


@pytest.fixture(scope="module")
def stand_in():
    with FakeCTGov([]) as api:
        yield api


@pytest.fixture
def api(stand_in):
    stand_in.clear_faults()
    stand_in.reset_log()
    yield stand_in
    stand_in.clear_faults()


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
