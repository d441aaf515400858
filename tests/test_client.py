"""The API client: parameters, pagination, retries and the errors that end them."""

from __future__ import annotations

import json

import pytest
import requests
from responses import matchers

from trialfinder import __version__
from trialfinder.client import Client, RetryPolicy
from trialfinder.exceptions import (
    BadRequest,
    Forbidden,
    InputError,
    InvalidResponse,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
)

from .conftest import API, load_fixture

STUDIES = f"{API}/studies"
PARAMS = {"query.cond": "multiple sclerosis", "filter.overallStatus": "RECRUITING"}


def page(studies, token=None, total=None):
    body = {"studies": studies}
    if total is not None:
        body["totalCount"] = total
    if token:
        body["nextPageToken"] = token
    return body


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps, monkeypatch):
    # The plain transport only: the fallback to curl_cffi is tested in test_transport.py.
    monkeypatch.setenv("TRIALFINDER_TRANSPORT", "requests")
    return Client(API, sleep=sleeps.append, retry=RetryPolicy(tries=4, base=1.0, cap=8.0))


def test_first_page_sends_exact_parameters_and_headers(mocked, client):
    mocked.get(
        STUDIES,
        json=page([], total=0),
        match=[matchers.query_param_matcher({**PARAMS, "pageSize": "1000", "countTotal": "true"})],
    )
    assert list(client.iter_studies(PARAMS)) == []
    request = mocked.calls[0].request
    assert request.headers["User-Agent"] == f"trialfinder/{__version__}"
    assert "gzip" in request.headers["Accept-Encoding"]
    assert request.headers["Accept"] == "application/json"
    assert request.req_kwargs["timeout"] == (10.0, 60.0)


def test_pagination_follows_tokens_over_three_pages_repeating_parameters(mocked, client):
    studies = load_fixture("constructed/search_btk_boston.json")["studies"]
    first = {**PARAMS, "pageSize": "1000", "countTotal": "true"}
    later = {**PARAMS, "pageSize": "1000"}
    mocked.get(STUDIES, json=page(studies[:2], "tok-1", total=5),
               match=[matchers.query_param_matcher(first)])
    mocked.get(STUDIES, json=page(studies[2:4], "tok-2"),
               match=[matchers.query_param_matcher({**later, "pageToken": "tok-1"})])
    mocked.get(STUDIES, json=page(studies[4:]),
               match=[matchers.query_param_matcher({**later, "pageToken": "tok-2"})])
    got = [s["protocolSection"]["identificationModule"]["nctId"] for s in client.iter_studies(PARAMS)]
    assert got == [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]
    assert len(mocked.calls) == 3


def test_real_recorded_pages_walk_with_their_tokens(mocked, client):
    page1 = load_fixture("real/hkm30_hve-drug-target-scout-agent__search-page1.json")
    page2 = load_fixture("real/hkm30_hve-drug-target-scout-agent__search-page2.json")
    last = dict(page2)
    last.pop("nextPageToken")
    mocked.get(STUDIES, json=page1)
    mocked.get(STUDIES, json=last, match=[matchers.query_param_matcher(
        {**PARAMS, "pageSize": "1000", "pageToken": page1["nextPageToken"]})])
    assert len(list(client.iter_studies(PARAMS))) == 2


def test_empty_last_page_with_token_is_tolerated(mocked, client):
    studies = load_fixture("constructed/search_btk_boston.json")["studies"]
    mocked.get(STUDIES, json=page(studies, "phantom", total=5))
    mocked.get(STUDIES, json=page([]))
    assert len(list(client.iter_studies(PARAMS))) == 5


def test_real_empty_result_body(mocked, client):
    mocked.get(STUDIES, body='{"totalCount":0,"studies":[\n\n]}', content_type="application/json")
    assert list(client.iter_studies(PARAMS)) == []


def test_walk_that_comes_up_short_of_total_is_an_error(mocked, client):
    mocked.get(STUDIES, json=page([{"protocolSection": {}}], total=3))
    with pytest.raises(InvalidResponse, match="1 of 3"):
        list(client.iter_studies(PARAMS))


def test_repeated_token_is_an_error_not_a_loop(mocked, client):
    mocked.get(STUDIES, json=page([], "same", total=0))
    mocked.get(STUDIES, json=page([], "same"))
    with pytest.raises(InvalidResponse, match="same page token twice"):
        list(client.iter_studies(PARAMS))


def test_429_honours_retry_after_then_succeeds(mocked, client, sleeps):
    mocked.get(STUDIES, status=429, body="Too many requests", headers={"Retry-After": "2"})
    mocked.get(STUDIES, json=page([], total=0))
    assert list(client.iter_studies(PARAMS)) == []
    assert sleeps == [2.0]


def test_retry_after_is_capped(mocked, sleeps):
    client = Client(API, sleep=sleeps.append, retry=RetryPolicy(retry_after_cap=5.0))
    mocked.get(STUDIES, status=429, headers={"Retry-After": "3600"})
    mocked.get(STUDIES, json=page([], total=0))
    list(client.iter_studies(PARAMS))
    assert sleeps == [5.0]


def test_503_backs_off_exponentially_then_gives_up_with_the_api_message(mocked, client, sleeps):
    for _ in range(4):
        mocked.get(STUDIES, status=503, body="upstream unavailable", content_type="text/plain")
    with pytest.raises(ServerError) as err:
        list(client.iter_studies(PARAMS))
    assert err.value.status_code == 503
    assert "upstream unavailable" in str(err.value)
    assert "try again later" in str(err.value)
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps, start=1):
        assert min(8.0, 2 ** (attempt - 1)) / 2 <= delay <= min(8.0, 2 ** (attempt - 1))


def test_timeout_is_retried(mocked, client, sleeps):
    mocked.get(STUDIES, body=requests.Timeout("read timed out"))
    mocked.get(STUDIES, json=page([], total=0))
    assert list(client.iter_studies(PARAMS)) == []
    assert len(sleeps) == 1


def test_connection_errors_end_in_transport_error(mocked, client):
    for _ in range(4):
        mocked.get(STUDIES, body=requests.ConnectionError("refused"))
    with pytest.raises(TransportError, match=r"could not connect \(4 tries\)"):
        list(client.iter_studies(PARAMS))


def test_400_is_not_retried_and_carries_plain_text_message(mocked, client, sleeps):
    mocked.get(STUDIES, status=400, content_type="text/plain",
               body="Item 1 in parameter `filter.ids` has incorrect format")
    with pytest.raises(BadRequest) as err:
        list(client.iter_studies(PARAMS))
    assert err.value.message == "Item 1 in parameter `filter.ids` has incorrect format"
    assert sleeps == []
    assert len(mocked.calls) == 1


def test_403_says_the_service_refused_and_what_to_try(mocked, client):
    mocked.get(STUDIES, status=403, body="<html>Forbidden</html>", content_type="text/html")
    with pytest.raises(Forbidden) as err:
        list(client.iter_studies(PARAMS))
    assert "refused this client" in str(err.value)
    assert "--api-url" in str(err.value)


def test_429_that_never_lifts_is_rate_limited_error(mocked, client):
    for _ in range(4):
        mocked.get(STUDIES, status=429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimited, match="rate-limiting"):
        list(client.iter_studies(PARAMS))


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("<!doctype html><html><body>Proxy login</body></html>", "text/html"),
        ('{"studies": [{"protocolSection": ', "application/json"),
        ('["not", "a", "page"]', "application/json"),
    ],
    ids=["html-page", "truncated-json", "wrong-shape"],
)
def test_200_that_is_not_the_expected_json_is_invalid_response(mocked, client, body, content_type):
    mocked.get(STUDIES, body=body, content_type=content_type)
    with pytest.raises(InvalidResponse):
        list(client.iter_studies(PARAMS))


def test_study_fetches_one_record(mocked, client):
    record = load_fixture("constructed/study_NCT04458051.json")
    mocked.get(f"{STUDIES}/NCT04458051", json=record)
    assert client.study("nct4458051")["protocolSection"]["identificationModule"]["nctId"] == "NCT04458051"


def test_study_follows_alias_redirect(mocked, client):
    record = load_fixture("constructed/study_NCT04458051.json")
    mocked.get(f"{STUDIES}/NCT00000001", status=301, headers={"Location": f"{STUDIES}/NCT04458051"})
    mocked.get(f"{STUDIES}/NCT04458051", json=record)
    assert client.study("NCT00000001")["protocolSection"]["identificationModule"]["acronym"] == "PERSEUS"


def test_study_404_is_no_such_trial(mocked, client):
    mocked.get(f"{STUDIES}/NCT99999999", status=404, body="NCT number NCT99999999 not found")
    with pytest.raises(NotFound, match="no trial NCT99999999"):
        client.study("NCT99999999")


def test_malformed_nct_id_never_reaches_the_network(client):
    with pytest.raises(ValueError, match="not an NCT number"):
        client.study("NCT1234]")


def test_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("TRIALFINDER_API_URL", "http://127.0.0.1:9/api/v2/")
    assert Client().base_url == "http://127.0.0.1:9/api/v2"


def test_version(mocked, client):
    mocked.get(f"{API}/version", body=json.dumps({"apiVersion": "2.0.5", "dataTimestamp": "2026-08-19T09:00:06"}))
    assert client.version()["apiVersion"] == "2.0.5"


def test_without_prefetch_an_early_stop_requests_no_further_page(mocked, client):
    studies = load_fixture("constructed/search_btk_boston.json")["studies"]
    mocked.get(STUDIES, json=page(studies, "tok-1", total=4000))
    walk = client.iter_studies(PARAMS, prefetch=False)
    assert next(walk)["protocolSection"]["identificationModule"]["nctId"] == "NCT04458051"
    walk.close()
    assert len(mocked.calls) == 1


def test_prefetch_failure_surfaces_when_its_page_is_reached(mocked, client):
    studies = load_fixture("constructed/search_btk_boston.json")["studies"]
    mocked.get(STUDIES, json=page(studies, "tok-1", total=10))
    mocked.get(STUDIES, status=400, body="Parameter `pageToken` has incorrect format")
    walk = client.iter_studies(PARAMS)
    assert len([next(walk) for _ in range(5)]) == 5  # the first page is served in full
    with pytest.raises(BadRequest, match="pageToken"):
        next(walk)


# -- settings from the environment (mutants of _env_float; issue 11) ------------------------


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "two", "nan", "inf", "1e400"])
def test_a_bad_tries_setting_is_refused_as_not_a_whole_number(monkeypatch, value):
    monkeypatch.setenv("TRIALFINDER_TRIES", value)
    with pytest.raises(InputError) as err:
        Client(API)
    assert str(err.value) == f"TRIALFINDER_TRIES={value!r} is not a whole number greater than zero"


@pytest.mark.parametrize("value", ["0", "-5", "x", "nan", "inf"])
def test_a_bad_timeout_setting_is_refused_as_not_seconds(monkeypatch, value):
    monkeypatch.setenv("TRIALFINDER_TIMEOUT", value)
    with pytest.raises(InputError) as err:
        Client(API)
    assert str(err.value) == f"TRIALFINDER_TIMEOUT={value!r} is not a number of seconds greater than zero"


def test_the_tries_setting_is_how_often_a_failing_request_is_made(mocked, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_TRIES", " 3 ")
    monkeypatch.setenv("TRIALFINDER_TIMEOUT", "0.5")
    mocked.assert_all_requests_are_fired = False  # a fourth answer is there, never asked for
    for _ in range(4):
        mocked.get(f"{API}/version", status=503)
    client = Client(API, sleep=lambda seconds: None)
    with pytest.raises(ServerError):
        client.version()
    assert len(mocked.calls) == 3
    assert [c.request.req_kwargs["timeout"] for c in mocked.calls] == [(10.0, 0.5)] * 3


def test_a_body_that_is_not_json_and_says_no_type_is_described_as_such(mocked):
    mocked.get(f"{API}/version", body=b"oops!", content_type=None)
    with pytest.raises(InvalidResponse) as err:
        Client(API).version()
    assert "the answer is not valid JSON (no content type, 5 bytes)" in str(err.value)
    assert err.value.url == f"{API}/version"  # the error names the request


def test_a_page_is_read_by_the_decoder_given(mocked):
    """``decode`` (the fast msgspec reader in a search) reads the page, not plain json."""
    mocked.get(f"{API}/studies", json={"studies": [{"n": 1}], "totalCount": 1})
    bodies: list[bytes] = []

    def decode(body: bytes):
        bodies.append(body)
        page = json.loads(body)
        page["studies"] = [("decoded", s["n"]) for s in page["studies"]]
        return page

    page = Client(API).page({}, decode=decode)
    assert page.studies == [("decoded", 1)] and len(bodies) == 1
