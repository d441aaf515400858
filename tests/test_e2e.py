"""End to end over real sockets: the installed ``trialfinder`` command, run as a subprocess,
against the API stand-in (tests/fakeapi.py) and a loopback SMTP server (aiosmtpd).

Every run gets few tries and a short read timeout (TRIALFINDER_TRIES=2,
TRIALFINDER_TIMEOUT=1) so retries and stalls stay fast. One stand-in serves the
module; each test starts from the constructed BTK world with no faults and an
empty request log.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from .datagen import generate_studies
from .e2e_support import (
    BOSTON,
    BOSTON_GEO,
    HOSTILE,
    OPEN,
    ORELA_PPMS,
    ORELA_SPMS,
    PERSEUS,
    REMODEL_1,
    REMODEL_2,
    Run,
    cli_env,
    error_line,
    hostile_world,
    mail_parts,
    markdown_ids,
    nct,
    protocol,
    reported,
    require_installed_command,
    run_cli,
    state_rows,
    table_ids,
    unsafe_characters,
    world,
    write_config,
)
from .fakeapi import FakeCTGov
from .smtpserver import SMTPServer

require_installed_command()

TRIES = 2


@pytest.fixture
def tf(api, tmp_path):
    """Run the installed command against the stand-in: ``tf("search", "-n", BOSTON)``."""
    def run(*args: str, timeout: float = 1.0) -> Run:
        return run_cli(args, cli_env(api.url, tmp_path, tries=TRIES, timeout=timeout))
    return run


def wait_for_log(api: FakeCTGov, count: int, seconds: float = 5.0) -> list[Any]:
    """The request log once it has ``count`` entries. A stalled request is logged only
    when its stall ends, after the client has already given up on it."""
    deadline = time.monotonic() + seconds
    while len(api.requests) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return api.requests


# == happy paths =========================================================================

SEARCH_OPEN = ("search", "-d", "btk", "-n", BOSTON, "-s", "open")
NEAREST_OPEN = [PERSEUS, ORELA_SPMS, ORELA_PPMS, REMODEL_1]  # 0.6, 2.8, 51.5, 80.3 mi


def ids_in(fmt: str, text: str) -> list[str]:
    if fmt == "json":
        return [t["nct_id"] for t in json.loads(text)]
    if fmt == "csv":
        return [row["nct_id"] for row in csv.DictReader(io.StringIO(text))]
    if fmt == "markdown":
        return markdown_ids(text)
    return table_ids(text)


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_search_ranks_by_nearest_recruiting_site_in_every_format(tf, api, fmt):
    result = tf(*SEARCH_OPEN, "-f", fmt)
    assert result.returncode == 0, result
    assert ids_in(fmt, result.stdout) == NEAREST_OPEN
    # One request, carrying the filters trialfinder built; the stand-in evaluated them.
    [sent] = api.requests
    assert (sent.path, sent.status) == ("/api/v2/studies", 200)
    assert sent.params["filter.overallStatus"] == OPEN
    assert sent.params["filter.geo"] == BOSTON_GEO
    assert sent.params["query.cond"] == "multiple sclerosis"
    assert '"tolebrutinib" OR "SAR442168"' in sent.params["query.intr"]
    if fmt == "json":
        data = json.loads(result.stdout)
        assert [t["nearest_site"]["distance_mi"] for t in data] == [0.6, 2.8, 51.5, 80.3]
        assert [t["nearest_site"]["city"] for t in data] == ["Boston", "Cambridge", "Portsmouth", "Springfield"]
        assert data[2]["nearest_site"]["status"] == "NOT_YET_RECRUITING"
        assert data[0]["matched_drugs"] == ["tolebrutinib"] and data[0]["sites_in_radius"] == 2
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [r["distance_mi"] for r in rows] == ["0.6", "2.8", "51.5", "80.3"]
        assert rows[3]["nearest_facility"] == "Novartis Investigative Site"
        assert result.stderr.startswith("4 recruiting, not yet recruiting or enrolling by invitation")
    elif fmt == "markdown":
        assert "| [NCT04458051](https://clinicaltrials.gov/study/NCT04458051) |" in result.stdout
    else:
        assert re.search(r"0.6 mi +Boston, MA \(\+1 more\) +Massachusetts General Hospital", result.stdout)
        assert "\n4 recruiting, not yet recruiting or enrolling by invitation" in result.stdout


def test_search_leaves_out_a_study_whose_only_nearby_site_is_withdrawn(tf, api):
    result = tf("search", "-d", "btk", "-n", BOSTON, "-f", "json")
    assert result.returncode == 0, result
    assert [t["nct_id"] for t in result.json()] == [PERSEUS, ORELA_SPMS, REMODEL_1]
    # The stand-in did send REMODEL-2 (its withdrawn Boston site is inside the radius):
    # trialfinder itself left it out.
    [sent] = api.requests
    answer = requests.get(api.url + "/studies", params=sent.params, timeout=10).json()
    assert REMODEL_2 in [nct(s) for s in answer["studies"]]


def test_region_search_counts_qualifying_sites_in_the_state(tf, api):
    studies = world()
    # A second recruiting Massachusetts site puts NCT07299019 first (2 sites against 1).
    sites = protocol(studies, "NCT07299019")["contactsLocationsModule"]["locations"]
    sites.append(dict(sites[0], facility="Second Massachusetts Site", city="Worcester"))
    api.set_studies(studies)
    result = tf("search", "-d", "btk", "-n", "Massachusetts", "-f", "json")
    assert result.returncode == 0, result
    data = result.json()
    assert [t["nct_id"] for t in data] == ["NCT07299019", PERSEUS, "NCT05147220"]
    assert [t["sites_in_radius"] for t in data] == [2, 1, 1]
    assert all(t["nearest_site"]["distance_mi"] is None for t in data)
    [sent] = api.requests
    assert sent.params["query.locn"] == 'AREA[LocationState]"Massachusetts"'
    assert "filter.geo" not in sent.params
    # The stand-in also sent the study whose only Massachusetts site is withdrawn
    # (NCT05156281); trialfinder left it out by the per-site status check.
    answer = requests.get(api.url + "/studies", params=sent.params, timeout=10).json()
    assert "NCT05156281" in [nct(s) for s in answer["studies"]]
    table = tf("search", "-d", "btk", "-n", "MA")
    assert "Recruiting sites in Massachusetts" in table.stdout
    assert "Ranked by the number of sites in Massachusetts" in table.stdout
    assert table.returncode == 0, table


def test_region_search_by_country(tf, api):
    result = tf("search", "-d", "btk", "-n", "France", "-f", "json")
    assert result.returncode == 0, result
    assert [t["nct_id"] for t in result.json()] == [PERSEUS]


def test_region_with_a_radius_is_exit_2_without_a_request(tf, api):
    line = error_line(tf("search", "-n", "MA", "-r", "50mi"), 2)
    assert line.startswith("Error: --radius does not apply to Massachusetts"), line
    assert api.requests == []


@pytest.mark.parametrize("near", [["-n", "-33.87,151.21"], ["-n=-33.87,151.21"],
                                  ["--near=-33.87,151.21"]])
def test_negative_coordinates_in_near(tf, api, near):
    result = tf("search", *near, "-f", "json")
    assert result.returncode == 0, result
    [sent] = api.requests
    assert sent.params["filter.geo"] == "distance(-33.87,151.21,100mi)"


def filter_world() -> list[dict[str, Any]]:
    """The BTK world with one phase 2 trial (ORELA_SPMS) and one women-only trial (REMODEL-1).
    Ages: PERSEUS and REMODEL-1 18-55, ORELA_PPMS 18-65, ORELA_SPMS 18 and up."""
    studies = world()
    protocol(studies, ORELA_SPMS)["designModule"]["phases"] = ["PHASE2"]
    protocol(studies, REMODEL_1)["eligibilityModule"]["sex"] = "FEMALE"
    return studies


@pytest.mark.parametrize("options, expected", [
    (["--phase", "3"], [PERSEUS, ORELA_PPMS, REMODEL_1]),
    (["--phase", "2"], [ORELA_SPMS]),
    (["--age", "60"], [ORELA_SPMS, ORELA_PPMS]),
    (["--age", "17"], []),
    (["--sex", "male"], [PERSEUS, ORELA_SPMS, ORELA_PPMS]),
    (["--sex", "female"], NEAREST_OPEN),
    (["--phase", "3", "--age", "60", "--sex", "male"], [ORELA_PPMS]),
], ids=["phase3", "phase2", "age60", "age17-none", "male", "female", "combined"])
def test_search_phase_age_sex_filters(tf, api, options, expected):
    api.set_studies(filter_world())
    result = tf(*SEARCH_OPEN, *options, "-f", "json")
    assert result.returncode == 0, result
    assert [t["nct_id"] for t in result.json()] == expected
    [sent] = api.requests
    assert sent.status == 200 and "filter.advanced" in sent.params


def test_search_with_no_result_is_a_success(tf, api):
    result = tf("search", "-d", "btk", "-n", "Lyon, France")
    assert result.returncode == 0, result
    assert result.stdout.startswith("No recruiting multiple sclerosis trials of BTK inhibitors within 100 mi of Lyon")
    assert result.stderr == ""


def test_show_table_near_lists_every_site_nearest_first(tf, api):
    result = tf("show", PERSEUS, "--near", BOSTON)
    assert result.returncode == 0, result
    out = result.stdout
    assert out.startswith("NCT04458051  PERSEUS\n")
    assert "Interventions:      Tolebrutinib (SAR442168); Placebo" in out
    assert "Ages:               18 Years to 55 Years" in out
    assert "* Diagnosis of primary progressive multiple sclerosis (PPMS)" in out
    assert "Trial Transparency Team · 555-0100 · trials@example.org" in out
    sites = out.split("Sites (5, nearest first from Boston, Massachusetts, United States)", 1)[1]
    cities = re.findall(r"(Boston|Worcester|Providence|Warsaw|Lyon), ", sites)
    assert cities == ["Boston", "Worcester", "Providence", "Warsaw", "Lyon"]
    assert re.search(r"0\.6 mi +Recruiting +Massachusetts General Hospital", sites)
    assert re.search(r"39 mi +Withdrawn", sites)
    assert [(r.path, r.status) for r in api.requests] == [(f"/api/v2/studies/{PERSEUS}", 200)]


def test_show_json(tf, api):
    one = tf("show", PERSEUS, "-n", BOSTON, "-f", "json")
    assert one.returncode == 0, one
    doc = one.json()
    assert doc["nct_id"] == PERSEUS and doc["central_contacts"][0]["email"] == "trials@example.org"
    assert [s["distance_mi"] for s in doc["sites"]] == [0.6, 38.5, 41.1, 4071.0, None]
    # Several IDs, one spelt loosely: a list, in the order asked.
    several = tf("show", "nct4458051", REMODEL_1, "-f", "json")
    assert several.returncode == 0, several
    docs = several.json()
    assert [d["nct_id"] for d in docs] == [PERSEUS, REMODEL_1]
    springfield = docs[1]["sites"][2]
    assert (springfield["city"], springfield["status"], springfield["registered_status"]) == (
        "Springfield", "RECRUITING", None)


@pytest.mark.parametrize("place, fmt, expected", [
    (BOSTON, "table", "Boston, Massachusetts, United States: 42.3584, -71.0598 (city, population 653,833)\n"),
    ("02115", "table", "02115 (Boston, MA): 42.3427, -71.0922 (zip)\n"),
    ("42.36,-71.06", "table", "42.36, -71.06: 42.3600, -71.0600 (coordinates)\n"),
    (BOSTON, "json", None),
], ids=["city", "zip", "coordinates", "json"])
def test_locate_is_offline(tf, api, place, fmt, expected):
    result = tf("locate", place, "-f", fmt)
    assert result.returncode == 0, result
    if expected is None:
        assert result.json() == {"name": "Boston, Massachusetts, United States", "lat": 42.35843,
                                 "lon": -71.05977, "kind": "city", "country_code": "US",
                                 "population": 653833, "note": None}
    else:
        assert result.stdout == expected
    assert api.requests == []


def test_show_follows_an_alias_to_the_current_record(tf, api):
    studies = world()
    protocol(studies, PERSEUS)["identificationModule"]["nctIdAliases"] = ["NCT01234567"]
    api.set_studies(studies)
    result = tf("show", "NCT01234567")
    assert result.returncode == 0, result
    assert result.stdout.startswith("NCT04458051  PERSEUS\n")
    assert [(r.path, r.status) for r in api.requests] == [
        ("/api/v2/studies/NCT01234567", 301), (f"/api/v2/studies/{PERSEUS}", 200)]


def test_ambiguous_place_is_a_note_not_an_error(tf, api):
    result = tf("locate", "Portland")
    assert result.returncode == 0, result
    assert result.stdout.startswith("Portland, Oregon, United States:")
    assert result.stderr.startswith("note: 'Portland' matches")


# -- pagination over many pages ---------------------------------------------------------

N_BIG = 2100  # three pages of at most 1000
PAGES = math.ceil(N_BIG / 1000)


def big_world() -> tuple[list[dict[str, Any]], dict[str, int], dict[str, str]]:
    """N_BIG generated MS studies, each with one recruiting site k * 0.0002 degrees north of
    Boston (k distinct, shuffled; the nearest study comes last in the data) and a distinct
    last-update date in another order. Returns the studies, k and the date by NCT ID."""
    studies = generate_studies(N_BIG, seed=5, min_sites=1, max_sites=1)
    rng = random.Random(7)
    ks = list(range(1, N_BIG))
    rng.shuffle(ks)
    ks.append(0)
    days = list(range(N_BIG))
    rng.shuffle(days)
    rank: dict[str, int] = {}
    updated: dict[str, str] = {}
    for study, k, day in zip(studies, ks, days, strict=True):
        p = study["protocolSection"]
        p["statusModule"]["overallStatus"] = "RECRUITING"
        p["statusModule"]["lastUpdatePostDateStruct"] = {
            "date": (date(2020, 1, 1) + timedelta(days=day)).isoformat(), "type": "ACTUAL"}
        p["conditionsModule"]["conditions"] = ["Relapsing Multiple Sclerosis"]
        p["contactsLocationsModule"]["locations"] = [{
            "facility": f"Site {k}", "status": "RECRUITING", "city": "Boston", "state": "Massachusetts",
            "country": "United States", "geoPoint": {"lat": round(42.3601 + k * 0.0002, 6), "lon": -71.0589},
        }]
        rank[nct(study)] = k
        updated[nct(study)] = p["statusModule"]["lastUpdatePostDateStruct"]["date"]
    return studies, rank, updated


@pytest.fixture(scope="module")
def big():
    studies, rank, updated = big_world()
    with FakeCTGov(studies) as api:
        yield api, rank, updated


@pytest.fixture
def big_tf(big, tmp_path):
    api = big[0]
    api.clear_faults()
    api.reset_log()

    def run(*args: str) -> Run:
        return run_cli(args, cli_env(api.url, tmp_path, tries=TRIES))

    yield run
    api.clear_faults()


def check_full_walk(result: Run, rank: dict[str, int]) -> None:
    assert result.returncode == 0, result
    data = result.json()
    assert len(data) == N_BIG
    assert {t["nct_id"] for t in data} == set(rank)
    # Ranked by distance across page boundaries: the study last in the data comes first.
    assert [rank[t["nct_id"]] for t in data] == list(range(N_BIG))
    assert result.stderr.startswith(f"{N_BIG:,} recruiting multiple sclerosis trials within 100 mi")


def test_pagination_walks_every_page(big, big_tf):
    api, rank, _ = big
    result = big_tf("search", "-n", BOSTON, "-f", "json")
    check_full_walk(result, rank)
    log = api.requests
    assert len(log) == PAGES
    assert [r.status for r in log] == [200] * PAGES
    assert "pageToken" not in log[0].params and log[0].params["countTotal"] == "true"
    assert all("pageToken" in r.params for r in log[1:])
    assert len({r.params["pageToken"] for r in log[1:]}) == PAGES - 1
    # Every page repeats the query itself.
    def query(r: Any) -> dict[str, str]:
        return {k: v for k, v in r.params.items() if k not in ("pageToken", "countTotal")}
    assert all(query(r) == query(log[0]) for r in log)


def test_pagination_next_page_token_on_an_empty_last_page(big, big_tf):
    api, rank, _ = big
    api.add_fault("phantom_token")
    result = big_tf("search", "-n", BOSTON, "-f", "json")
    check_full_walk(result, rank)
    assert [r.fault for r in api.requests] == [None] * (PAGES - 1) + ["phantom_token", None]


def test_pagination_empty_pages_with_tokens(big, big_tf):
    api, rank, _ = big
    api.add_fault("empty_pages", times=2)
    result = big_tf("search", "-n", BOSTON, "-f", "json")
    check_full_walk(result, rank)
    assert [r.fault for r in api.requests] == [None] * (PAGES - 1) + ["empty_pages"] * 2 + [None]


def test_limit_by_distance_still_reads_every_page(big, big_tf):
    api, rank, _ = big
    result = big_tf("search", "-n", BOSTON, "--limit", "3", "-f", "json")
    assert result.returncode == 0, result
    assert [rank[t["nct_id"]] for t in result.json()] == [0, 1, 2]
    assert len(api.requests) == PAGES


def test_limit_in_a_region_still_reads_every_page(big, big_tf):
    api, rank, _ = big
    result = big_tf("search", "-n", "Massachusetts", "--limit", "3", "-f", "json")
    assert result.returncode == 0, result
    # One qualifying site each: ties, broken by NCT ID across every page.
    assert [t["nct_id"] for t in result.json()] == sorted(rank)[:3]
    assert len(api.requests) == PAGES


def test_limit_with_sort_by_update_stops_after_the_first_page(big, big_tf):
    api, _, updated = big
    result = big_tf("search", "-n", BOSTON, "--sort", "updated", "--limit", "5", "-f", "json")
    assert result.returncode == 0, result
    newest = sorted(updated, key=updated.get, reverse=True)[:5]
    assert [t["nct_id"] for t in result.json()] == newest
    [sent] = api.requests
    assert sent.params["sort"] == "LastUpdatePostDate:desc"


# == misbehaving service ==================================================================

COMMANDS = {
    "search": (("search", "-d", "btk", "-n", BOSTON), "/studies", [PERSEUS, ORELA_SPMS, REMODEL_1]),
    "show": (("show", PERSEUS), f"/studies/{PERSEUS}", [PERSEUS]),
}


def shown_ids(command: str, run: Run) -> list[str]:
    if command == "search":
        return table_ids(run.stdout)
    return [line.split()[0] for line in run.stdout.splitlines()[:1]]


FAILURES = [
    # id, fault kind, options, start of the message after "GET <url>: ", retried?
    ("500", "status", {"status": 500}, "HTTP 500 Internal Server Error: Internal Server Error "
     "(the service is having trouble; try again later)", True),
    ("503", "status", {"status": 503}, "HTTP 503 Service Unavailable: Service Unavailable "
     "(the service is having trouble; try again later)", True),
    ("close", "close", {}, "the server closed the connection without answering (2 tries)", True),
    ("stall", "stall", {"seconds": 1.6}, "timed out (2 tries)", True),
    ("html200", "html200", {}, "the answer is not valid JSON (text/html", False),
    ("truncate", "truncate", {}, "the answer is not valid JSON (application/json", False),
]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fault, kind, options, message, retried", FAILURES, ids=[f[0] for f in FAILURES])
def test_persistent_failure_is_one_line_exit_1(tf, api, command, fault, kind, options, message, retried):
    args, path, _ = COMMANDS[command]
    api.add_fault(kind, times=None, **options)
    result = tf(*args)
    line = error_line(result, 1)
    assert line.startswith(f"Error: GET {api.url}{path}: {message}"), line
    log = wait_for_log(api, TRIES) if kind == "stall" else api.requests
    assert log and all(r.fault == kind for r in log), log
    if retried:
        assert len(log) == TRIES, log


RECOVERIES = [
    # id, fault kind, options, statuses the stand-in logged, least seconds the run takes
    ("429-retry-after", "status", {"status": 429, "headers": {"Retry-After": "2"}}, [429, 200], 2.0),
    ("close-once", "close", {}, [0, 200], 0.0),
]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fault, kind, options, statuses, least", RECOVERIES, ids=[r[0] for r in RECOVERIES])
def test_transient_failure_is_retried(tf, api, command, fault, kind, options, statuses, least):
    args, path, expected = COMMANDS[command]
    api.add_fault(kind, times=1, **options)
    result = tf(*args)
    assert result.returncode == 0, result
    assert shown_ids(command, result) == expected
    assert [r.status for r in api.requests] == statuses
    assert {r.path for r in api.requests} == {"/api/v2" + path}
    if least:
        # Retry-After was honoured: the jittered backoff of a first retry is at most 1 s.
        assert result.seconds >= least, result


def test_unknown_trial_is_exit_2_after_one_lookup(tf, api):
    line = error_line(tf("show", "NCT09999999"), 2)
    assert line == "Error: no trial NCT09999999 on ClinicalTrials.gov"
    assert [(r.path, r.status) for r in api.requests] == [("/api/v2/studies/NCT09999999", 404)]


# == digests ==============================================================================


@pytest.fixture
def smtp():
    with SMTPServer() as mail:
        yield mail


@pytest.fixture
def config(tmp_path, smtp):
    return write_config(tmp_path / "config.toml", smtp.port)


@pytest.fixture
def digest(tf, config):
    def run(*args: str) -> Run:
        return tf("digest", "--config", str(config), *args)
    return run


def state_of(config: Path) -> Path:
    return config.parent / "state.db"


def test_digest_sends_news_once(api, smtp, config, digest):
    first = digest()
    assert first.returncode == 0, first
    assert len(smtp.messages) == 1
    got = smtp.messages[0]
    assert sorted(got.recipients) == ["family@example.org", "nurse@example.org"]
    assert got.message["Subject"] == "trialfinder: 3 new MS trials near Boston, MA"
    plain, _ = mail_parts(got.message)
    assert "1. PERSEUS (NCT04458051)" in plain and REMODEL_2 not in plain
    assert reported(state_of(config)) == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 1}

    second = digest()
    assert second.returncode == 0, second
    assert len(smtp.messages) == 1
    assert "btk-boston: 0 new, 0 changed, 0 gone: no e-mail" in second.stderr

    # A new recruiting site near Boston: one e-mail about exactly that.
    studies = world()
    protocol(studies, REMODEL_1)["contactsLocationsModule"]["locations"].append(
        {"facility": "Lahey Clinic", "status": "RECRUITING", "city": "Burlington", "state": "Massachusetts",
         "country": "United States", "geoPoint": {"lat": 42.4848, "lon": -71.2006}})
    api.set_studies(studies)
    third = digest()
    assert third.returncode == 0, third
    assert len(smtp.messages) == 2
    changed = smtp.messages[1].message
    assert changed["Subject"] == "trialfinder: 1 changed MS trial near Boston, MA"
    assert "- new site in range: Lahey Clinic, Burlington, MA" in mail_parts(changed)[0]

    fourth = digest()
    assert fourth.returncode == 0, fourth
    assert len(smtp.messages) == 2


def stopped_recruiting() -> list[dict[str, Any]]:
    """REMODEL-1 is now active, not recruiting: it drops out of the search."""
    studies = world()
    protocol(studies, REMODEL_1)["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    return studies


DIGEST_FAULTS = [
    # id, fault kind, options (the fault stays until cleared), start of the error
    ("503", "status", {"status": 503}, "GET {url}/studies: HTTP 503 Service Unavailable"),
    ("truncate", "truncate", {}, "GET {url}/studies: the answer is not valid JSON"),
    ("html200", "html200", {}, "GET {url}/studies: the answer is not valid JSON (text/html"),
    ("close", "close", {}, "GET {url}/studies: the server closed the connection without answering"),
    # The search answers; the look-up of the trial that dropped out fails.
    ("503-on-lookup", "status", {"status": 503, "after": 1}, "GET {url}/studies: HTTP 503"),
]


@pytest.mark.parametrize("fault, kind, options, message", DIGEST_FAULTS, ids=[f[0] for f in DIGEST_FAULTS])
def test_digest_failed_fetch_changes_nothing_and_the_news_follows_once(
        api, smtp, config, digest, fault, kind, options, message):
    assert digest().returncode == 0
    assert len(smtp.messages) == 1
    before = state_rows(state_of(config))

    api.set_studies(stopped_recruiting())
    api.reset_log()
    api.add_fault(kind, times=None, **options)
    failed = digest()
    assert failed.returncode == 1, failed
    assert "Traceback" not in failed.stderr + failed.stdout
    # An HTML page also sends the request through the browser-like transport, with a note.
    errors = [line for line in failed.stderr.splitlines() if not line.startswith("note: ")]
    assert errors == [line for line in errors if line.startswith("Error: search 'btk-boston': ")]
    assert len(errors) == 1, failed
    assert errors[0].startswith("Error: search 'btk-boston': " + message.format(url=api.url)), failed
    assert errors[0].endswith("; nothing sent, nothing recorded")
    assert any(r.fault == kind for r in api.requests)
    if fault == "503-on-lookup":
        assert "filter.ids" in api.requests[-1].params
    assert len(smtp.messages) == 1
    assert state_rows(state_of(config)) == before

    api.clear_faults()
    recovered = digest()
    assert recovered.returncode == 0, recovered
    assert len(smtp.messages) == 2
    gone = smtp.messages[1].message
    assert gone["Subject"] == "trialfinder: 1 no longer matching MS trial near Boston, MA"
    plain, _ = mail_parts(gone)
    assert "NO LONGER MATCHING" in plain and "REMODEL-1 (NCT05147220)" in plain
    assert "- now active not recruiting" in plain
    assert reported(state_of(config)) == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 0}

    again = digest()
    assert again.returncode == 0, again
    assert len(smtp.messages) == 2


def test_digest_smtp_refusal_then_acceptance_sends_the_news_once(api, smtp, config, digest):
    smtp.handler.reject_with = "451 4.3.0 mailbox busy, try later"
    refused = digest()
    assert refused.returncode == 1, refused
    assert "Traceback" not in refused.stderr
    assert "Error: search 'btk-boston': the mail server at 127.0.0.1:" in refused.stderr
    assert "451 4.3.0 mailbox busy" in refused.stderr
    assert smtp.messages == []
    assert state_rows(state_of(config))["reported"] == []

    smtp.handler.reject_with = None
    accepted = digest()
    assert accepted.returncode == 0, accepted
    assert [m.message["Subject"] for m in smtp.messages] == ["trialfinder: 3 new MS trials near Boston, MA"]
    assert digest().returncode == 0
    assert len(smtp.messages) == 1


def test_digest_html_escapes_api_text(api, smtp, tmp_path, tf):
    api.set_studies(hostile_world())
    config = write_config(tmp_path / "hostile.toml", smtp.port, drug_class=None)
    result = tf("digest", "--config", str(config))
    assert result.returncode == 0, result
    [got] = smtp.messages
    plain, html = mail_parts(got.message)
    assert HOSTILE in plain
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Boston</b>" not in html and "&lt;b&gt;Boston&lt;/b&gt;" in html
    for text in (plain, html, got.message["Subject"]):
        assert unsafe_characters(text) == set()


# == hostile input =======================================================================

BAD_PLACES = [
    ("Atlantisville, Narnia", "unknown place 'Atlantisville, Narnia'"),
    ("", "empty place"),
    ("   ", "empty place"),
    ("95,200", "latitude 95 is out of range"),
]


@pytest.mark.parametrize("command", ["search", "show", "locate"])
@pytest.mark.parametrize("place, message", BAD_PLACES, ids=["unknown", "empty", "blank", "coordinates"])
def test_bad_place_is_exit_2_without_a_request(tf, api, command, place, message):
    args = {"search": ("search", "-n", place), "show": ("show", PERSEUS, "-n", place),
            "locate": ("locate", place)}[command]
    line = error_line(tf(*args), 2)
    assert line.startswith(f"Error: {message}"), line
    assert api.requests == []


@pytest.mark.parametrize("radius", ["0", "-5mi", "10 parsecs", "1e9km", "abc"])
def test_bad_radius_is_exit_2_without_a_request(tf, api, radius):
    line = error_line(tf("search", "-n", BOSTON, "-r", radius), 2)
    assert line.startswith(f"Error: Invalid value for '-r' / '--radius': radius {radius!r} "), line
    assert api.requests == []


@pytest.mark.parametrize("nct_id", ["NCT0445805a", "../etc/passwd", "NCT04458051;rm", "NCT 04458051x"])
def test_malformed_nct_id_is_exit_2_without_a_request(tf, api, nct_id):
    line = error_line(tf("show", nct_id), 2)
    assert line == f"Error: {nct_id!r} is not an NCT number (expected NCT and up to 8 digits, e.g. NCT04458051)"
    assert api.requests == []


def test_short_nct_id_is_padded_and_unknown_is_exit_2(tf, api):
    # "NCT123" is read as NCT00000123 (as the API itself does), then found missing.
    line = error_line(tf("show", "NCT123"), 2)
    assert line == "Error: no trial NCT00000123 on ClinicalTrials.gov"
    assert [(r.path, r.status) for r in api.requests] == [("/api/v2/studies/NCT00000123", 404)]


@pytest.mark.parametrize("options, message", [
    (["--status", "bogus"], "Error: unknown status 'bogus'; choose from open, recruiting"),
    (["--phase", "7"], "Error: unknown phase '7'; choose from early-1, 1, 2, 3, 4, na"),
    (["--age", "forty"], "Error: Invalid value for '--age': 'forty' is not a valid integer range."),
    (["--age", "200"], "Error: Invalid value for '--age': 200 is not in the range 0<=x<=125."),
    (["--sex", "other"], "Error: Invalid value for '--sex': 'other' is not one of 'female', 'male'."),
    (["--sort", "nearest"], "Error: Invalid value for '--sort': 'nearest' is not one of 'distance', 'updated', 'posted'."),
], ids=["status", "phase", "age-text", "age-range", "sex", "sort"])
def test_bad_option_is_exit_2_without_a_request(tf, api, options, message):
    line = error_line(tf("search", "-n", BOSTON, *options), 2)
    assert line.startswith(message), line
    assert api.requests == []


BAD_CONFIGS = [
    ({"age": '"forty"'}, "search 'btk-boston'.age: must be a whole number of years, not str"),
    ({"recipients": '"x"'}, "search 'btk-boston'.recipients: 'x' is not an e-mail address"),
    ({"radius": "true"}, "search 'btk-boston'.radius: must be a distance such as \"150mi\", not true/false"),
    ({"colour": '"blue"'}, "search 'btk-boston'.colour: unknown key"),
]


@pytest.mark.parametrize("command", ["config check", "digest"])
@pytest.mark.parametrize("keys, message", BAD_CONFIGS, ids=["age", "recipients", "radius", "unknown-key"])
def test_bad_config_is_exit_2_before_anything_happens(tf, api, smtp, tmp_path, command, keys, message):
    config = write_config(tmp_path / "bad.toml", smtp.port, **keys)
    line = error_line(tf(*command.split(), "--config", str(config)), 2)
    assert line.startswith(f"Error: {config}: {message}"), line
    assert api.requests == [] and smtp.messages == []
    assert not state_of(config).exists()


def test_unknown_top_level_key_is_exit_2(tf, api, smtp, tmp_path):
    config = write_config(tmp_path / "bad.toml", smtp.port)
    config.write_text("shout = true\n" + config.read_text())
    line = error_line(tf("digest", "--config", str(config)), 2)
    assert line.startswith(f"Error: {config}: shout: unknown key"), line
    assert api.requests == [] and smtp.messages == []


ESSIE_TEXT = ["MS [relapsing", "(a OR b", '"unbalanced', "AREA[Phase]PHASE3", "x\\y"]
ESSIE_META = re.compile(r'[\[\]()"]')
BUILT_BY_TRIALFINDER = {"filter.advanced", "filter.geo"}


@pytest.mark.parametrize("option, param", [("--condition", "query.cond"), ("--term", "query.term"),
                                           ("--intervention", "query.intr")])
@pytest.mark.parametrize("text", ESSIE_TEXT)
def test_essie_syntax_in_free_text_is_neutralised(tf, api, option, param, text):
    result = tf("search", option, text, "-n", BOSTON, "-p", "3", "-f", "json")
    assert result.returncode == 0, result  # not a 400 from the stand-in's Essie parser
    [sent] = api.requests
    assert sent.status == 200
    value = sent.params[param]
    if param == "query.intr":
        # trialfinder quotes an intervention name as one phrase; inside it, nothing special.
        assert value.startswith('"') and value.endswith('"'), value
        value = value[1:-1]
    for name, other in sent.params.items():
        if name not in BUILT_BY_TRIALFINDER and name != "query.intr":
            assert not ESSIE_META.search(other), (name, other)
    assert not ESSIE_META.search(value) and "\\" not in value, value
    # The user's words themselves survive.
    for word in re.findall(r"[A-Za-z0-9]+", text):
        assert word.lower() in value.lower().split(), (word, value)


@pytest.mark.parametrize("option", ["--intervention", "--term", "--condition"])
def test_free_text_cleaned_to_nothing_does_not_widen_the_search(tf, api, option):
    result = tf("search", "-d", "btk", "-n", BOSTON, option, "()")
    assert result.returncode == 2, result
    assert result.stderr == f"Error: {option} '()' has no words to search for\n"
    assert api.requests == []


# == hostile API text ======================================================================


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_hostile_api_text_in_search_output(tf, api, fmt):
    api.set_studies(hostile_world())
    result = tf("search", "-n", BOSTON, "-f", fmt)
    assert result.returncode == 0, result
    assert HOSTILE in result.stdout
    assert unsafe_characters(result.stdout + result.stderr) == set()
    if fmt == "markdown":
        assert "<script>" not in result.stdout and "&lt;script&gt;" in result.stdout
        assert "<b>" not in result.stdout
    if fmt == "csv":
        [row] = list(csv.DictReader(io.StringIO(result.stdout)))
        assert row["sponsor"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
        assert row["interventions"] == "'-2+3"
        assert row["nearest_facility"] == "'@SUM(1+1)"
        assert row["title"] == "RED BTK Inhibitor Study in Multiple Sclerosis"
        for column, cell in row.items():
            if cell[:1] in ("=", "+", "-", "@"):
                float(cell)  # only a number may start with a sign, e.g. a longitude
                assert column in ("nearest_lat", "nearest_lon"), (column, cell)
    if fmt == "json":
        [doc] = result.json()
        assert doc["title"] == "RED BTK Inhibitor Study in Multiple Sclerosis"


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_hostile_api_text_in_show_output(tf, api, fmt):
    api.set_studies(hostile_world())
    result = tf("show", HOSTILE, "-n", BOSTON, "-f", fmt)
    assert result.returncode == 0, result
    assert unsafe_characters(result.stdout + result.stderr) == set()
    assert "Relapsing Multiple Sclerosis FDP.exe Extension" in result.stdout
    assert "RED BTK Inhibitor Study in Multiple Sclerosis" in result.stdout


def test_summary_line_for_one_trial_is_singular(tf, api):
    api.set_studies(hostile_world())
    result = tf("search", "-n", BOSTON, "-f", "json")
    assert result.returncode == 0, result
    assert result.stderr.startswith("1 recruiting multiple sclerosis trial within")
