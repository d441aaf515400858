"""Tests of the API stand-in itself (tests/fakeapi.py), over a real loopback socket."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.datagen import BTK_DRUGS, CITIES, generate_studies, write_dataset
from tests.fakeapi import PIECES, FakeCTGov, parse_fault

ROOT = Path(__file__).resolve().parent.parent
PARIS, BOSTON, TORONTO = (48.8566, 2.3522), (42.3601, -71.0589), (43.6532, -79.3832)
TOKYO, SEATTLE = (35.6762, 139.6503), (47.6062, -122.3321)


def site(city: str, point: tuple[float, float] | None, status: str | None, country: str) -> dict:
    loc: dict[str, Any] = {"facility": f"{city} Hospital"}
    if status:
        loc["status"] = status
    loc.update({"city": city, "country": country})
    if point:
        loc["geoPoint"] = {"lat": point[0], "lon": point[1]}
    return loc


def study(nct: str, title: str, status: str, conditions: list[str], **kw: Any) -> dict[str, Any]:
    """A small record in the v2 shape; keyword arguments fill in the optional fields."""
    ident = {"nctId": nct, "briefTitle": title, "officialTitle": f"Official: {title}"}
    ident |= {k: kw[k] for k in ("acronym", "nctIdAliases") if k in kw}
    dates = {"studyFirstPostDateStruct": {"date": kw.get("posted", "2020-01-06"), "type": "ACTUAL"}}
    if "updated" in kw:
        dates["lastUpdatePostDateStruct"] = {"date": kw["updated"], "type": "ACTUAL"}
    design: dict[str, Any] = {"studyType": kw.get("study_type", "INTERVENTIONAL")}
    if "phases" in kw:
        design["phases"] = kw["phases"]
    if "enrollment" in kw:
        design["enrollmentInfo"] = {"count": kw["enrollment"], "type": "ESTIMATED"}
    eligibility = {"sex": kw.get("sex", "ALL"), "healthyVolunteers": False}
    eligibility |= {k: kw[k] for k in ("minimumAge", "maximumAge") if k in kw}
    interventions = kw.get("interventions", [])
    return {
        "protocolSection": {
            "identificationModule": ident,
            "statusModule": {"overallStatus": status, **dates},
            "sponsorCollaboratorsModule": {"leadSponsor": {"name": kw.get("sponsor", "Sponsor")}},
            "conditionsModule": {"conditions": conditions, "keywords": kw.get("keywords", [])},
            "designModule": design,
            "armsInterventionsModule": {
                "interventions": interventions,
                "armGroups": [{"label": f"{i['name']} arm"} for i in interventions],
            },
            "eligibilityModule": eligibility,
            "contactsLocationsModule": {"locations": kw.get("locations", [])},
        },
        "derivedSection": {"miscInfoModule": {"versionHolder": "2026-08-19"}},
        "hasResults": kw.get("has_results", False),
    }


def drug(name: str, *other_names: str) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "DRUG", "name": name}
    if other_names:
        item["otherNames"] = list(other_names)
    return item


A, B, C, D = "NCT00000101", "NCT00000202", "NCT00000303", "NCT00000404"
HANDMADE = [
    study(
        A, "Tolebrutinib in Relapsing MS", "RECRUITING", ["Relapsing Multiple Sclerosis"],
        interventions=[drug("Tolebrutinib", "SAR442168")], phases=["PHASE3"],
        minimumAge="18 Years", maximumAge="55 Years", updated="2026-08-03", posted="2020-06-11",
        enrollment=900, sponsor="Sanofi", acronym="GEMINI 1", nctIdAliases=["NCT00000099"],
        keywords=["BTK"],
        locations=[
            site("Paris", PARIS, "RECRUITING", "France"),
            site("Boston", BOSTON, "WITHDRAWN", "United States"),
            site("Lyon", None, None, "France"),
        ],
    ),
    study(
        B, "Evobrutinib Versus Teriflunomide", "NOT_YET_RECRUITING", ["Multiple Sclerosis"],
        interventions=[drug("Evobrutinib", "M2951"), drug("Teriflunomide")],
        phases=["PHASE2", "PHASE3"], sex="FEMALE", minimumAge="6 Months", updated="2025-01-15",
        posted="2024-12-02", sponsor="EMD Serono",
        locations=[site("Toronto", TORONTO, "NOT_YET_RECRUITING", "Canada")],
    ),
    study(
        C, "Fatigue Registry", "ACTIVE_NOT_RECRUITING", ["Fatigue"],
        keywords=["multiple sclerosis"], study_type="OBSERVATIONAL", sex="MALE",
        maximumAge="65 Years", updated="2026-01-05", posted="2019-03-01", enrollment=50,
        sponsor="Mayo Clinic",
        locations=[
            site("Tokyo", TOKYO, "COMPLETED", "Japan"),
            site("Seattle", SEATTLE, "RECRUITING", "United States"),
        ],
    ),
    study(
        D, "Aspirin for Migraine", "COMPLETED", ["Migraine"], interventions=[drug("Aspirin")],
        phases=["NA"], minimumAge="18 Years", posted="2021-07-07", enrollment=300, sponsor="Bayer",
        has_results=True,
    ),
]


@pytest.fixture(scope="module")
def hand():
    with FakeCTGov(HANDMADE) as server:
        yield server


@pytest.fixture(scope="module")
def big():
    with FakeCTGov(generate_studies(45, seed=11, min_sites=2, max_sites=8)) as server:
        yield server


@pytest.fixture
def api():
    """A fresh server per test, for faults and the request log."""
    with FakeCTGov(HANDMADE) as server:
        yield server


def get(server: FakeCTGov, path: str = "/studies", **params: Any) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=10)


def nct_ids(studies: list[dict[str, Any]]) -> list[str]:
    return [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]


def ids(server: FakeCTGov, **params: Any) -> list[str]:
    """The NCT IDs ``/studies`` answers with (one page of up to 1000)."""
    response = get(server, fields="NCTId", pageSize=1000, **params)
    assert response.status_code == 200, response.text
    return nct_ids(response.json()["studies"])


def error(server: FakeCTGov, path: str = "/studies", status: int = 400, **params: Any) -> str:
    """The text/plain body of an error answer."""
    response = get(server, path, **params)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    return response.text


# -- basics ------------------------------------------------------------------------------


def test_version_and_unknown_paths(hand: FakeCTGov) -> None:
    response = get(hand, "/version")
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"apiVersion": "2.0.5", "dataTimestamp": "2026-08-19T09:00:06"}
    for path in ("/api/query/study_fields", "/api/v2/studies/", f"/api/v2/studies/{A}/x"):
        missing = requests.get(hand.url.replace("/api/v2", path), timeout=5)
        assert missing.status_code == 404
        assert missing.headers["Content-Type"] == "text/html" and "nginx" in missing.text


def test_url_start_stop() -> None:
    server = FakeCTGov([])
    with pytest.raises(RuntimeError):
        _ = server.url
    with server:
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/api/v2")
        assert get(server).text == '{"studies":[\n\n]}'
    server.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/api/v2/version", timeout=2)


def test_unknown_parameter_and_format(hand: FakeCTGov) -> None:
    assert error(hand, **{"filter.phase": "PHASE3"}) == "`filter.phase` is unknown parameter"
    assert error(hand, **{"query.recrs": "x"}) == "`query.recrs` is unknown parameter"
    assert error(hand, format="csv") == "Invalid value in parameter `format`: `csv`"
    assert get(hand, format="json", markupFormat="legacy").status_code == 200


# -- paging ------------------------------------------------------------------------------


def test_layout_one_study_per_line(hand: FakeCTGov) -> None:
    lines = get(hand, fields="NCTId", pageSize=2, countTotal="true").text.split("\n")
    assert lines[0] == '{"totalCount":4,"studies":['
    assert lines[1] == '{"protocolSection":{"identificationModule":{"nctId":"NCT00000101"}}},'
    assert lines[2] == '{"protocolSection":{"identificationModule":{"nctId":"NCT00000202"}}}'
    assert lines[3].startswith('],"nextPageToken":"') and lines[3].endswith('"}')
    empty = get(hand, countTotal="true", **{"filter.ids": "NCT09999999"})
    assert empty.text == '{"totalCount":0,"studies":[\n\n]}'


def test_pagination_walk(big: FakeCTGov) -> None:
    params = {"fields": "NCTId", "pageSize": 7, "countTotal": "true"}
    page = get(big, **params).json()
    assert page["totalCount"] == 45
    seen, pages = nct_ids(page["studies"]), 1
    while "nextPageToken" in page:
        page = get(big, pageToken=page["nextPageToken"], **params).json()
        assert "totalCount" not in page  # first page only
        seen, pages = seen + nct_ids(page["studies"]), pages + 1
    assert pages == 7 and len(seen) == len(set(seen)) == 45
    assert seen == nct_ids(big.studies)  # no sort: data order


def walk(server: FakeCTGov, **params: Any) -> tuple[int, list[str]]:
    """Every page of one walk: the announced total and the NCT IDs that came."""
    page = get(server, countTotal="true", **params).json()
    total, seen = page["totalCount"], nct_ids(page["studies"])
    while "nextPageToken" in page:
        page = get(server, pageToken=page["nextPageToken"], **params).json()
        seen += nct_ids(page["studies"])
    return total, seen


def test_moved_fault_shortens_a_walk_once_or_always() -> None:
    params = {"fields": "NCTId", "pageSize": 10}
    with FakeCTGov(generate_studies(25, seed=3, min_sites=1, max_sites=2)) as server:
        every = nct_ids(server.studies)
        server.add_fault("moved")  # once: one study passed on page 1 vanished before page 2
        total, seen = walk(server, **params)
        assert total == 25 and len(seen) == 24 and seen == every[:10] + every[11:]
        assert [r.fault for r in server.requests] == [None, "moved", None]
        assert walk(server, **params) == (25, every)  # spent: the next walk is whole
        server.add_fault("moved", times=None, count=2)  # always, two studies a page
        total, seen = walk(server, **params)
        assert total == 25 and len(seen) == 21


def test_page_size_default_zero_and_cap() -> None:
    tiny = [
        {"protocolSection": {"identificationModule": {"nctId": f"NCT{i:08d}"}}}
        for i in range(1, 1101)
    ]
    with FakeCTGov(tiny) as server:
        assert len(get(server).json()["studies"]) == 10
        assert len(get(server, pageSize=0).json()["studies"]) == 10
        capped = get(server, pageSize=5000).json()
        assert len(capped["studies"]) == 1000 and "nextPageToken" in capped
        rest = get(server, pageSize=5000, pageToken=capped["nextPageToken"]).json()
        assert len(rest["studies"]) == 100 and "nextPageToken" not in rest
        for bad in ("-1", "ten"):
            assert error(server, pageSize=bad) == "Parameter `pageSize` has incorrect format"


def test_token_bound_to_query(big: FakeCTGov) -> None:
    query = {"query.cond": "sclerosis"}
    token = get(big, pageSize=5, **query).json()["nextPageToken"]
    # pageSize and countTotal may change between pages; everything else must repeat
    assert get(big, pageSize=3, countTotal="true", pageToken=token, **query).status_code == 200
    message = "Parameter `pageToken` has incorrect format"
    assert error(big, pageSize=5, pageToken=token) == message
    assert error(big, pageSize=5, pageToken=token, fields="NCTId", **query) == message
    for garbage in ("garbage", "ZVt07cGHkvI2wRk2CJf6_LLtiYHHe9Mod7KrgP4bmjaasfs4IQ", "é"):
        assert error(big, pageToken=garbage, **query) == message


def test_count_total_flag(hand: FakeCTGov) -> None:
    assert "totalCount" not in get(hand).json()
    assert get(hand, countTotal="TRUE").json()["totalCount"] == 4
    assert error(hand, countTotal="yes") == "Parameter `countTotal` has incorrect format"


# -- search ------------------------------------------------------------------------------


def test_query_areas(hand: FakeCTGov) -> None:
    assert ids(hand, **{"query.cond": "multiple sclerosis"}) == [A, B, C]  # C by keyword
    assert ids(hand, **{"query.cond": "MIGRAINE"}) == [D]
    assert ids(hand, **{"query.intr": "SAR442168 OR M2951"}) == [A, B]  # other names
    assert ids(hand, **{"query.intr": "teriflunomide arm"}) == [B]  # arm label; AND of terms
    assert ids(hand, **{"query.term": "NCT00000303"}) == [C]
    assert ids(hand, **{"query.term": "mayo"}) == [C]
    assert ids(hand, **{"query.titles": "GEMINI"}) == [A]
    assert ids(hand, **{"query.titles": "sclerosis"}) == []


def test_essie_grammar(hand: FakeCTGov) -> None:
    cond = "query.cond"
    assert ids(hand, **{cond: "sclerosis NOT relapsing"}) == [B, C]
    assert ids(hand, **{cond: "(fatigue OR migraine) AND NOT aspirin"}) == [C]
    assert ids(hand, **{cond: '"relapsing multiple"'}) == [A]
    assert ids(hand, **{cond: '"multiple relapsing"'}) == []
    assert ids(hand, **{"query.term": 'evobrutinib "versus teriflunomide"'}) == [B]
    assert ids(hand, **{cond: "and"}) == []  # lower-case operator words are plain words
    assert ids(hand, **{cond: "ALL"}) == [A, B, C, D]  # the every-study operator
    assert ids(hand, **{cond: "AREA[Phase]NA"}) == [D]  # AREA works in query.* too


@pytest.mark.parametrize(("param", "value", "label", "got"), [
    ("query.term", "foo [bar", "Other terms", "["),
    ("query.cond", "(sclerosis", "Conditions", "<EOF>"),
    ("query.intr", "a ]", "Interventions", "]"),
    ("query.titles", '"open', "Titles", '"open'),
    ("query.cond", ")", "Conditions", ")"),
])
def test_essie_syntax_errors(hand: FakeCTGov, param: str, value: str, label: str, got: str) -> None:
    expected = f"Error parsing query in {label}: mismatched input '{got}' expecting "
    assert error(hand, **{param: value}).startswith(expected)


def test_nct_only_query_ignores_filters(hand: FakeCTGov) -> None:
    assert ids(hand, **{"query.term": "NCT00000404", "filter.overallStatus": "RECRUITING"}) == [D]


def test_filter_overall_status(hand: FakeCTGov) -> None:
    assert ids(hand, **{"filter.overallStatus": "RECRUITING"}) == [A]
    assert ids(hand, **{"filter.overallStatus": "not_yet_recruiting|COMPLETED"}) == [B, D]
    message = "Invalid value in parameter `overallStatus`: `BADSTATUS`"
    assert error(hand, **{"filter.overallStatus": "RECRUITING,BADSTATUS"}) == message


def test_filter_geo(hand: FakeCTGov) -> None:
    def geo(value: str) -> list[str]:
        return ids(hand, **{"filter.geo": value})

    assert geo("distance(42.36,-71.06,50mi)") == [A]  # a WITHDRAWN site counts too
    record = get(hand, **{"filter.geo": "distance(42.36,-71.06,50mi)"}).json()["studies"][0]
    sites = record["protocolSection"]["contactsLocationsModule"]["locations"]
    assert [s["city"] for s in sites] == ["Paris", "Boston", "Lyon"]  # all sites, in order
    assert geo("distance(45.5152,-122.6784,150mi)") == [C]  # Portland -> Seattle: ~145 mi
    assert geo("distance(45.5152,-122.6784,140mi)") == []
    assert geo("distance(45.5152,-122.6784,240km)") == [C]
    assert geo("distance(42.3601,-71.0589,50)") == [A]  # a bare number is in meters
    assert geo("distance(42.37,-71.0589,50)") == []  # ~1 km away
    for bad in ("distance(42.36, -71.06, 50mi)", "distance(42.36,-71.06)",
                "distance(42.36,-71.06,50miles)", "near(1,2,3mi)"):
        assert error(hand, **{"filter.geo": bad}) == "Parameter `filter.geo` has incorrect format"


def test_filter_ids(hand: FakeCTGov) -> None:
    assert ids(hand, **{"filter.ids": "NCT00000404,nct303"}) == [C, D]
    assert ids(hand, **{"filter.ids": "NCT00000099"}) == [A]  # an alias
    assert ids(hand, **{"filter.ids": "NCT12345678"}) == []
    message = "Item 2 in parameter `filter.ids` has incorrect format"
    assert error(hand, **{"filter.ids": "NCT00000101|NCT0|bad"}) == message


@pytest.mark.parametrize(("expression", "expected"), [
    ("AREA[Phase]PHASE3", [A, B]),
    ("AREA[Phase](phase2 OR NA)", [B, D]),
    ("AREA[Phase]MISSING", [C]),
    ("AREA[OverallStatus]Recruiting", [A]),
    ('AREA[Sex]FEMALE OR AREA[Sex]"ALL"', [A, B, D]),
    ("AREA[Sex]FEMALE OR AREA[Sex]\\ALL", [A, B, D]),
    ("AREA[Sex]ALL", [A, B, C, D]),  # ALL is Essie's every-study operator, not the enum value
    ("AREA[MinimumAge]RANGE[MIN, 16 years]", [B]),
    ("AREA[MinimumAge]RANGE[MIN, 18 Years]", [A, B, D]),
    ("AREA[MinimumAge]RANGE[5 months, 7 Months]", [B]),
    ("AREA[MaximumAge]RANGE[60 years, MAX] OR AREA[MaximumAge]MISSING", [B, C, D]),
    ("AREA[StudyType]observational", [C]),
    ("AREA[LastUpdatePostDate]RANGE[2026-01-01, MAX]", [A, C]),
    ("AREA[LastUpdatePostDate]RANGE[MIN, MAX]", [A, B, C]),  # never matches a missing value
    ("AREA[StudyFirstPostDate]RANGE[2020, 2021-07-07]", [A, D]),
    ("AREA[StudyFirstPostDate]2024", [B]),
    ("AREA[LocationStatus]WITHDRAWN", [A]),
    ("AREA[LocationCountry]Japan", [C]),
    ("SEARCH[Location](AREA[LocationCity]Boston AND AREA[LocationStatus]RECRUITING)", []),
    ("SEARCH[Location](AREA[LocationCity]Paris AND AREA[LocationStatus]RECRUITING)", [A]),
    ("AREA[LocationGeoPoint]DISTANCE[47.6,-122.3,10mi]", [C]),
    ("AREA[InterventionName](aspirin OR teriflunomide)", [B, D]),
    ('AREA[Condition]"multiple sclerosis" AND NOT AREA[Condition]relapsing', [B]),
    ("AREA[EnrollmentCount]RANGE[100, MAX]", [A, D]),
    ("AREA[HasResults]true", [D]),
    ("COVERAGE[FullMatch]AREA[Condition]Fatigue", [C]),
    ("AREA[ConditionSearch]migraine", [D]),
    ("evobrutinib", [B]),
])
def test_filter_advanced(hand: FakeCTGov, expression: str, expected: list[str]) -> None:
    assert ids(hand, **{"filter.advanced": expression}) == expected


@pytest.mark.parametrize(("expression", "message"), [
    ("AREA[Foo]x", "Unknown area name: `Foo`"),
    ("AREA[Phase]PHASE1_PHASE2",
     "Allowed values for enum field `protocolSection.designModule.phases` are `NA`, "),
    ("AREA[StudyFirstPostDate]RANGE[2020-01-01]", "Invalid range"),
    ("AREA[StudyFirstPostDate]RANGE[yesterday, MAX]", "Invalid value `yesterday`"),
    ("COVERAGE[FullMatc]x", "Invalid coverage: FullMatc"),
    ("AREA[Phase]PHASE3 AND", "mismatched input '<EOF>'"),
    ("AREA[Phase](PHASE3", "mismatched input '<EOF>' expecting ')'"),
])
def test_filter_advanced_errors(hand: FakeCTGov, expression: str, message: str) -> None:
    answer = error(hand, **{"filter.advanced": expression})
    assert answer.startswith(f"Error parsing query in advanced filter: {message}")


# -- sort --------------------------------------------------------------------------------


def test_sort(hand: FakeCTGov) -> None:
    assert ids(hand, sort="LastUpdatePostDate") == [A, C, B, D]  # dates: desc; missing last
    assert ids(hand, sort="LastUpdatePostDate:asc") == [B, C, A, D]
    assert ids(hand, sort="EnrollmentCount") == [C, D, A, B]  # numbers: asc; missing last
    assert ids(hand, sort="EnrollmentCount:desc") == [A, D, C, B]
    assert ids(hand, sort="StudyFirstPostDate:asc") == [C, A, D, B]
    assert ids(hand, sort="@relevance") == [A, B, C, D]
    assert ids(hand, sort="LastUpdatePostDate:asc|EnrollmentCount") == [B, C, A, D]


def test_sort_errors(hand: FakeCTGov) -> None:
    assert error(hand, sort="BriefTitle") == "Unsupported sort field type: text"
    item = "Item {} in parameter `sort` has incorrect format"
    assert error(hand, sort="LastUpdatePostDate:up") == item.format(1)
    assert error(hand, sort="EnrollmentCount,Nope") == item.format(2)
    three = "EnrollmentCount,StartDate,CompletionDate"
    assert error(hand, sort=three) == "Parameter `sort` can have at most 2 items"


# -- fields ------------------------------------------------------------------------------


def first(server: FakeCTGov, **params: Any) -> dict[str, Any]:
    """Study A as ``/studies`` projects it."""
    response = get(server, **{"filter.ids": A, **params})
    assert response.status_code == 200, response.text
    return response.json()["studies"][0]


def test_fields_projection(hand: FakeCTGov) -> None:
    assert first(hand, fields="LocationCity,LocationGeoPoint") == {"protocolSection": {
        "contactsLocationsModule": {"locations": [
            {"city": "Paris", "geoPoint": {"lat": PARIS[0], "lon": PARIS[1]}},
            {"city": "Boston", "geoPoint": {"lat": BOSTON[0], "lon": BOSTON[1]}},
            {"city": "Lyon"},
        ]},
    }}
    statuses = first(hand, fields="LocationStatus")["protocolSection"]["contactsLocationsModule"]
    assert statuses == {"locations": [{"status": "RECRUITING"}, {"status": "WITHDRAWN"}]}
    assert first(hand, fields="NCTId|StudyFirstPostDate|HasResults") == {
        "protocolSection": {
            "identificationModule": {"nctId": A},
            "statusModule": {"studyFirstPostDateStruct": {"date": "2020-06-11", "type": "ACTUAL"}},
        },
        "hasResults": False,
    }
    design = HANDMADE[0]["protocolSection"]["designModule"]
    module = first(hand, fields="protocolSection.designModule")
    assert module == {"protocolSection": {"designModule": design}}
    assert set(first(hand, fields="derivedSection,hasResults")) == {"derivedSection", "hasResults"}
    assert first(hand, fields="WhyStopped") == {}
    queried = first(hand, fields="@query", **{"query.titles": "gemini"})
    assert set(queried["protocolSection"]["identificationModule"]) == {
        "nctId", "briefTitle", "officialTitle", "acronym"}


@pytest.mark.parametrize("name", sorted(PIECES))
def test_every_piece_is_a_valid_field(hand: FakeCTGov, name: str) -> None:
    assert get(hand, fields=name).status_code == 200


def test_fields_errors(hand: FakeCTGov) -> None:
    def message(name: str) -> str:
        return f"Parameter 'fields' contains invalid field name: '{name}'"

    assert error(hand, fields="NCTId,StudyDesign") == message("StudyDesign")
    bad_path = "protocolSection.noSuchModule"
    assert error(hand, fields=bad_path) == message(bad_path)
    assert error(hand, fields="") == message("")


# -- single study ------------------------------------------------------------------------


def test_single_study(hand: FakeCTGov) -> None:
    assert get(hand, f"/studies/{D}").json() == HANDMADE[3]
    projected = get(hand, "/studies/nct404", fields="NCTId").json()
    assert projected == {"protocolSection": {"identificationModule": {"nctId": D}}}
    assert error(hand, "/studies/NCT1234567890") == "Parameter `nctId` has incorrect format"
    assert error(hand, "/studies/NCT99999999", status=404) == "NCT number NCT99999999 not found"
    assert error(hand, f"/studies/{D}", bogus="1") == "`bogus` is unknown parameter"


def test_alias_redirects(hand: FakeCTGov) -> None:
    url = hand.url + "/studies/NCT00000099?fields=NCTId"
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code == 301
    assert response.headers["Location"] == hand.url + f"/studies/{A}?fields=NCTId"
    followed = requests.get(url, timeout=5)
    assert followed.json() == {"protocolSection": {"identificationModule": {"nctId": A}}}


# -- transport ---------------------------------------------------------------------------


def test_gzip_and_bytes_sent(api: FakeCTGov) -> None:
    zipped = get(api)
    plain = requests.get(api.url + "/studies", headers={"Accept-Encoding": "identity"}, timeout=5)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in plain.headers
    assert zipped.content == plain.content  # requests decodes
    log = api.requests
    assert log[0].bytes_sent == int(zipped.headers["Content-Length"]) < len(plain.content)
    assert log[1].bytes_sent == int(plain.headers["Content-Length"]) == len(plain.content)
    assert [(r.path, r.params, r.status) for r in log] == [("/api/v2/studies", {}, 200)] * 2
    api.reset_log()
    assert api.requests == []


def test_etag_not_modified(api: FakeCTGov) -> None:
    tag = get(api, "/version").headers["ETag"]
    again = requests.get(api.url + "/version", headers={"If-None-Match": tag}, timeout=5)
    assert again.status_code == 304 and again.content == b""


def test_concurrent_requests_are_all_logged(big: FakeCTGov) -> None:
    big.reset_log()
    threads = [threading.Thread(target=get, args=(big,), kwargs={"pageSize": 3}) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(big.requests) == 20 and {r.status for r in big.requests} == {200}


# -- faults ------------------------------------------------------------------------------


def test_fault_status(api: FakeCTGov) -> None:
    api.add_fault("status", times=2, status=503, headers={"Retry-After": "2"}, body="try later")
    answer = get(api)
    assert (answer.status_code, answer.text) == (503, "try later")
    assert answer.headers["Retry-After"] == "2"
    assert get(api, "/version").status_code == 503
    assert get(api).status_code == 200
    log = [(r.status, r.fault) for r in api.requests]
    assert log == [(503, "status"), (503, "status"), (200, None)]


def test_fault_path_and_after(api: FakeCTGov) -> None:
    api.add_fault("status", status=500, path="/api/v2/studies", after=2)
    assert get(api, "/version").status_code == 200  # another path: not counted
    assert [get(api).status_code for _ in range(4)] == [200, 200, 500, 200]
    api.add_fault("status", times=None, status=429)
    assert [get(api).status_code for _ in range(3)] == [429] * 3
    api.clear_faults()
    assert get(api).status_code == 200


def test_fault_close(api: FakeCTGov) -> None:
    api.add_fault("close")
    with pytest.raises(requests.ConnectionError):
        get(api)
    assert get(api).status_code == 200
    closed = api.requests[0]
    assert (closed.status, closed.bytes_sent, closed.fault) == (0, 0, "close")


def test_fault_html200(api: FakeCTGov) -> None:
    api.add_fault("html200")
    response = get(api)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_fault_challenge_refuses_non_browsers_and_serves_browsers(api: FakeCTGov) -> None:
    api.add_fault("challenge", times=None)
    refused = get(api, "/version")
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("text/html") and "Just a moment" in refused.text
    chrome = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"}
    served = requests.get(api.url + "/version", headers=chrome, timeout=5)
    assert served.status_code == 200 and served.json()["apiVersion"]
    assert [(r.status, r.fault) for r in api.requests] == [(403, "challenge"), (200, None)]
    api.clear_faults()
    api.add_fault("challenge", status=200)
    page = get(api)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert get(api).status_code == 200 and get(api).json()["studies"]  # used up after one


def test_fault_truncate(api: FakeCTGov) -> None:
    api.add_fault("truncate")
    identity = {"Accept-Encoding": "identity"}
    response = requests.get(api.url + "/studies", headers=identity, timeout=5)
    full = get(api).content
    assert response.status_code == 200 and len(response.content) == len(full) // 2
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(ValueError):
        json.loads(response.content)
    api.add_fault("truncate")
    assert get(api).content == full[: len(full) // 2]  # gzip of the cut body


def test_fault_stall_blocks_neither_others_nor_shutdown() -> None:
    server = FakeCTGov(HANDMADE).start()
    server.add_fault("stall", seconds=30, path="/api/v2/studies")
    slow = threading.Thread(target=get, args=(server,), daemon=True)
    slow.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert get(server, "/version").status_code == 200
    assert time.monotonic() - started < 1
    server.stop()  # ends the stall instead of waiting 30 s
    slow.join(5)
    assert not slow.is_alive() and time.monotonic() - started < 5


def test_fault_stall_delays(api: FakeCTGov) -> None:
    api.add_fault("stall", seconds=0.3)
    started = time.monotonic()
    assert get(api).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_phantom_token(api: FakeCTGov) -> None:
    api.add_fault("phantom_token")
    page1 = get(api, pageSize=3).json()
    page2 = get(api, pageSize=3, pageToken=page1["nextPageToken"]).json()
    assert len(page2["studies"]) == 1 and "nextPageToken" in page2  # the phantom
    page3 = get(api, pageSize=3, pageToken=page2["nextPageToken"])
    assert page3.text == '{"studies":[\n\n]}'
    assert [r.fault for r in api.requests] == [None, "phantom_token", None]


def test_fault_empty_pages(api: FakeCTGov) -> None:
    api.add_fault("empty_pages", times=2)
    page = get(api, pageSize=3, countTotal="true").json()
    assert page["totalCount"] == 4
    sizes = [len(page["studies"])]
    while "nextPageToken" in page:
        page = get(api, pageSize=3, pageToken=page["nextPageToken"]).json()
        sizes.append(len(page["studies"]))
    assert sizes == [3, 0, 0, 1]
    tokens = [r.params["pageToken"] for r in api.requests[1:]]
    assert len(set(tokens)) == 3  # each empty page carries a fresh token


def test_fault_validation(api: FakeCTGov) -> None:
    with pytest.raises(ValueError):
        api.add_fault("explode")
    with pytest.raises(ValueError):
        api.add_fault("close", status=500)
    with pytest.raises(ValueError):
        api.add_fault("status", times=0)
    assert parse_fault("status:503:2") == ("status", 2, {"status": 503})
    assert parse_fault("stall:1.5") == ("stall", 1, {"seconds": 1.5})
    assert parse_fault("close:*") == ("close", None, {})
    assert parse_fault("challenge:403:*") == ("challenge", None, {"status": 403})


def test_set_studies_replaces_data_and_caches(api: FakeCTGov) -> None:
    assert ids(api, **{"query.cond": "migraine"}) == [D]
    api.set_studies(HANDMADE[:2], data_timestamp="2026-09-01T09:00:00")
    assert ids(api, **{"query.cond": "migraine"}) == []
    assert get(api, "/version").json()["dataTimestamp"] == "2026-09-01T09:00:00"


# -- command line and data generator -----------------------------------------------------


def test_cli_serves_a_data_file(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "studies.json", 5, seed=2, min_sites=1, max_sites=3)
    command = [sys.executable, "-m", "tests.fakeapi", "--port", "0", "--data", str(data),
               "--fault", "status:503:1"]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v2")
        assert requests.get(url + "/studies", timeout=5).status_code == 503
        body = requests.get(url + "/studies", params={"countTotal": "true"}, timeout=5).json()
        assert body["totalCount"] == 5 and body["studies"] == json.loads(data.read_text())
    finally:
        proc.terminate()
        proc.wait(5)


def test_datagen_is_deterministic_and_realistic() -> None:
    studies = generate_studies(60, seed=4)
    assert studies == generate_studies(60, seed=4) and studies != generate_studies(60, seed=5)
    nct = nct_ids(studies)
    assert len(set(nct)) == 60 and all(len(n) == 11 and n.startswith("NCT9") for n in nct)
    sites = [s["protocolSection"]["contactsLocationsModule"]["locations"] for s in studies]
    assert all(20 <= len(locs) <= 200 for locs in sites)
    everywhere = [loc for locs in sites for loc in locs]
    assert {loc["city"] for loc in everywhere} >= {"Boston", "Toronto", "São Paulo"}
    assert any("geoPoint" not in loc for loc in everywhere)
    assert any("status" not in loc for loc in everywhere)
    boston = next(c for c in CITIES if c.name == "Boston")
    points = [loc["geoPoint"] for loc in everywhere if loc["city"] == "Boston"
              and "geoPoint" in loc]
    assert points and all(abs(p["lat"] - boston.lat) < 0.5 and abs(p["lon"] - boston.lon) < 0.7
                          for p in points)
    text = json.dumps(studies)
    assert sum(d.name in text for d in BTK_DRUGS) >= 3
    statuses = [s["protocolSection"]["statusModule"]["overallStatus"] for s in studies]
    assert statuses.count("RECRUITING") > len(studies) / 2
    assert 10_000 < len(text) / len(studies) < 80_000  # bytes per record
    assert gzip.compress(text.encode())
