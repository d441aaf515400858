"""A 404 from something that is not the API never makes a trial "not exist"."""

from __future__ import annotations

import pytest

from trialfinder.client import Client, RetryPolicy
from trialfinder.exceptions import NotFound, NotTheAPI

from .conftest import API

NGINX = "<html><head><title>404 Not Found</title></head><body><center>nginx</center></body></html>"


@pytest.fixture
def client():
    return Client(API, retry=RetryPolicy(tries=1), sleep=lambda s: None)


def test_the_apis_own_404_is_no_such_trial(mocked, client):
    mocked.get(f"{API}/studies/NCT99999999", status=404, body="NCT number NCT99999999 not found",
               content_type="text/plain; charset=UTF-8")
    with pytest.raises(NotFound, match="no trial NCT99999999"):
        client.study("NCT99999999")


@pytest.mark.parametrize("body, content_type", [
    (NGINX, "text/html"),  # a web server or proxy page
    ("404 page not found", "text/plain; charset=utf-8"),  # a Go server's default 404
    ('{"error": "not found"}', "application/json"),
])
def test_a_404_that_is_not_the_apis_answer_is_not_the_api(mocked, client, body, content_type):
    mocked.get(f"{API}/studies/NCT04458051", status=404, body=body, content_type=content_type)
    with pytest.raises(NotTheAPI, match="this URL is not the ClinicalTrials.gov API") as caught:
        client.study("NCT04458051")
    assert not isinstance(caught.value, NotFound)


def test_a_404_on_a_search_is_not_the_api(mocked, client):
    mocked.get(f"{API}/studies", status=404, body=NGINX, content_type="text/html")
    with pytest.raises(NotTheAPI, match="try https://clinicaltrials.gov/api/v2"):
        list(client.iter_studies({"query.cond": "x"}))


def test_the_hint_suggests_the_api_path_on_the_same_server(mocked):
    client = Client("http://mirror.test/ctgov", retry=RetryPolicy(tries=1))
    mocked.get("http://mirror.test/ctgov/studies/NCT04458051", status=404, body=NGINX, content_type="text/html")
    with pytest.raises(NotTheAPI, match=r"try http://mirror.test/api/v2"):
        client.study("NCT04458051")
