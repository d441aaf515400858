"""``trialfinder search`` through CliRunner, with the HTTP layer mocked."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner
from responses import matchers

from trialfinder.cli import cli
from trialfinder.query import SEARCH_FIELDS

from .conftest import API, load_fixture

STUDIES = f"{API}/studies"


def run(*args: str):
    return CliRunner().invoke(cli, ["search", "--api-url", API, *args], catch_exceptions=False)


def test_btk_near_boston_table(mocked, btk_page):
    mocked.get(STUDIES, json=btk_page, match=[matchers.query_param_matcher({
        "query.cond": "multiple sclerosis",
        "query.intr": ('"tolebrutinib" OR "SAR442168" OR "PRN2246" OR "evobrutinib" OR "M2951" OR '
                       '"fenebrutinib" OR "GDC-0853" OR "RG7845" OR "remibrutinib" OR "LOU064" OR '
                       '"orelabrutinib" OR "ICP-022" OR "ibrutinib" OR "PCI-32765" OR "acalabrutinib" OR '
                       '"ACP-196" OR "zanubrutinib" OR "BGB-3111" OR "pirtobrutinib" OR "LOXO-305" OR '
                       '"rilzabrutinib" OR "PRN1008"'),
        "filter.overallStatus": "RECRUITING",
        "filter.geo": "distance(42.35843,-71.05977,100mi)",
        "fields": ",".join(SEARCH_FIELDS),
        "pageSize": "1000",
        "countTotal": "true",
    })])
    result = run("--drug-class", "BTK inhibitor", "--near", "Boston, MA")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:5]] == ["NCT04458051", "NCT07299019", "NCT05147220"]
    assert "3 recruiting multiple sclerosis trials of BTK inhibitors within 100 mi of Boston" in result.stdout
    assert result.stderr == ""


def test_json_format(mocked, btk_page):
    mocked.get(STUDIES, json=btk_page)
    result = run("-d", "btk", "-n", "02115", "-r", "150mi", "-s", "open", "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [d["nct_id"] for d in data] == ["NCT04458051", "NCT07299019", "NCT07067463", "NCT05147220"]
    assert data[2]["nearest_site"]["status"] == "NOT_YET_RECRUITING"
    assert result.stderr.startswith("4 recruiting, not yet recruiting or enrolling by invitation multiple "
                                    "sclerosis trials of BTK inhibitors within 150 mi")
    sent = mocked.calls[0].request.params
    assert sent["filter.overallStatus"] == "RECRUITING,NOT_YET_RECRUITING,ENROLLING_BY_INVITATION"
    assert sent["filter.geo"].endswith(",150mi)")


@pytest.mark.parametrize("fmt, first", [("csv", "nct_id,title,acronym"), ("markdown", "| NCT ID")])
def test_other_formats(mocked, btk_page, fmt, first):
    mocked.get(STUDIES, json=btk_page)
    result = run("-d", "btk", "-n", "Boston, MA", "-f", fmt)
    assert result.exit_code == 0
    assert result.stdout.startswith(first)
    assert "NCT04458051" in result.stdout


def test_every_option_reaches_the_api(mocked, btk_page):
    mocked.get(STUDIES, json={"studies": [], "totalCount": 0})
    result = run("-c", "multiple sclerosis", "-i", "ocrelizumab", "-i", "ublituximab", "-t", "smoldering",
                 "-p", "2", "-p", "3", "--age", "45", "--sex", "female", "-s", "recruiting",
                 "-s", "not-yet-recruiting", "-n", "42.36,-71.06", "-r", "80km")
    assert result.exit_code == 0
    sent = mocked.calls[0].request.params
    assert sent["query.intr"] == '"ocrelizumab" OR "ublituximab"'
    assert sent["query.term"] == "smoldering"
    assert sent["filter.geo"] == "distance(42.36,-71.06,80km)"
    assert sent["filter.overallStatus"] == "RECRUITING,NOT_YET_RECRUITING"
    assert sent["filter.advanced"].startswith("AREA[Phase](PHASE2 OR PHASE3) AND (AREA[MinimumAge]")
    assert "AREA[Sex]FEMALE" in sent["filter.advanced"]
    assert result.stdout.startswith("No recruiting or not yet recruiting phase 2 or 3 multiple sclerosis trials")


def test_sort_updated_with_limit_stops_early(mocked, btk_page):
    mocked.get(STUDIES, json=btk_page, match=[matchers.query_param_matcher(
        {"sort": "LastUpdatePostDate:desc"}, strict_match=False)])
    result = run("-c", "any", "--sort", "updated", "--limit", "2", "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data) == 2
    assert data[0]["last_updated"] >= data[1]["last_updated"]
    assert "query.cond" not in mocked.calls[0].request.params


def test_ambiguous_place_note_on_stderr(mocked):
    mocked.get(STUDIES, json={"studies": [], "totalCount": 0})
    result = run("--near", "Portland")
    assert result.exit_code == 0
    assert result.stderr.startswith("note: ")
    assert "Oregon" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--near", "Atlantisville, Narnia"], "Error: unknown place"),
        (["--near", "Boston, MA", "--radius", "-5"], "Error: Invalid value for '-r' / '--radius'"),
        (["--near", "Boston, MA", "--radius", "0km"], "must be greater than zero"),
        (["--radius", "50mi"], "Error: --radius needs --near"),
        (["--status", "recruting"], "Error: unknown status 'recruting'"),
        (["--phase", "9"], "Error: unknown phase '9'"),
        (["--drug-class", "statins"], "Error: unknown drug class 'statins'; known classes: btk, anti-cd20, s1p"),
        (["--age", "300"], "Error: Invalid value for '--age'"),
        (["--near", "95,200"], "Error: "),
        (["--format", "xml"], "Error: Invalid value for '-f' / '--format'"),
        (["--api-url", "ftp://example.org"], "is not an http(s) URL"),
    ],
)
def test_bad_input_is_one_line_exit_2_without_request(mocked, args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_api_failure_is_one_line_exit_1_naming_the_request(mocked, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    for _ in range(5):
        mocked.get(STUDIES, status=503, body="Service Unavailable", content_type="text/plain")
    result = run("-n", "Boston, MA")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: GET {STUDIES}: HTTP 503")
    assert len(result.stderr.strip().splitlines()) == 1


def test_connection_failure_exit_1(mocked, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    for _ in range(5):
        mocked.get(STUDIES, body=requests.ConnectionError("refused"))
    result = run()
    assert result.exit_code == 1
    assert "could not connect (5 tries)" in result.stderr


def test_bad_request_from_api_exit_1_with_its_message(mocked):
    mocked.get(STUDIES, status=400, body="`filter.phase` is unknown parameter", content_type="text/plain")
    result = run()
    assert result.exit_code == 1
    assert "HTTP 400" in result.stderr and "`filter.phase` is unknown parameter" in result.stderr


def test_unreadable_record_is_skipped_with_a_warning(mocked, btk_page):
    btk_page["studies"].append({"protocolSection": {"identificationModule": {}}})
    mocked.get(STUDIES, json=btk_page)
    result = run("-n", "Boston, MA", "-d", "btk")
    assert result.exit_code == 0
    assert "warning: skipped a record: study record without a valid nctId" in result.stderr


def test_api_url_from_environment(mocked, monkeypatch):
    monkeypatch.setenv("TRIALFINDER_API_URL", "http://mirror.test/api/v2")
    mocked.get("http://mirror.test/api/v2/studies", json={"studies": []})
    result = CliRunner().invoke(cli, ["search"])
    assert result.exit_code == 0


def test_real_portland_recording_end_to_end(mocked):
    page = load_fixture("real/Ledgeworth-Studios_UnivabioComp__search_ms_portland.json")
    page.pop("nextPageToken")
    page["totalCount"] = len(page["studies"])
    mocked.get(STUDIES, json=page)
    result = run("--near", "Portland, OR", "--radius", "50mi", "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    # Every study's first listed site is far away; the nearest recruiting one is in Oregon.
    assert data and all(d["nearest_site"]["distance_mi"] <= 50 for d in data)
    assert all(d["nearest_site"]["state"] in ("Oregon", "Washington") for d in data)
