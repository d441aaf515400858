"""A digest run walks each distinct question once, and every search gets the digest it
would get alone: real config file, real SQLite state, the API stand-in counting
requests, the loopback SMTP server."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.client import Client
from trialfinder.places import Place
from trialfinder.query import Query, Radius
from trialfinder.walks import SharedWalks

from .datagen import CITIES, generate_studies
from .fakeapi import FakeCTGov
from .smtpserver import SMTPServer

# name -> TOML keys. 11 searches, 5 distinct questions: radius, km, recipients and
# send_empty differ within the first; a drug class, another place, another set of
# statuses and a profile (any profile) each make a walk of their own.
SEARCHES = {
    "ms-100": 'near = "Boston, MA"\nradius = "100mi"',
    "ms-100-family": 'near = "Boston, MA"\nradius = "100mi"\nsend_empty = true',
    "ms-50": 'near = "Boston, MA"\nradius = "50mi"',
    "ms-25": 'near = "Boston, MA"\nradius = "25mi"',
    "ms-40km": 'near = "Boston, MA"\nradius = "40km"',
    "btk-100": 'near = "Boston, MA"\nradius = "100mi"\ndrug_class = "btk"',
    "ms-nyc": 'near = "New York, NY"\nradius = "100mi"',
    "ms-100-soon": 'near = "Boston, MA"\nradius = "100mi"\nstatus = ["recruiting", "not-yet-recruiting"]',
    "ms-25-again": 'near = "Boston, MA"\nradius = "25mi"',
    # Two profiles: the pre-screen fetches the criteria too, so one more walk, shared.
    "ms-100-nrspms": 'near = "Boston, MA"\nradius = "100mi"\nprofile = { ms_type = "nrspms", edss = 6.0 }',
    "ms-50-rrms": 'near = "Boston, MA"\nradius = "50mi"\nprofile = { ms_type = "rrms", edss = 2.0 }',
}
DISTINCT_QUESTIONS = 5


def write_config(path: Path, smtp_port: int, state: Path, names: list[str]) -> Path:
    tables = "".join(
        f'\n[[search]]\nname = "{name}"\n{SEARCHES[name]}\nrecipients = ["{name}@example.org"]\n'
        for name in names
    )
    path.write_text(
        f'state = "{state}"\n\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
        f'from = "alerts@example.org"\ntimeout = 10\n{tables}',
        encoding="utf-8",
    )
    return path


def reported(state: Path) -> dict[str, set[tuple[str, str, int]]]:
    db = sqlite3.connect(state)
    try:
        rows = db.execute("SELECT search, nct_id, snapshot, active FROM reported").fetchall()
    finally:
        db.close()
    out: dict[str, set[tuple[str, str, int]]] = {}
    for search, nct_id, snapshot, active in rows:
        out.setdefault(search, set()).add((nct_id, snapshot, active))
    return out


@pytest.fixture(scope="module")
def api():
    boston = next(c for c in CITIES if c.name == "Boston")
    with FakeCTGov(generate_studies(70, seed=11, dense_around=boston)) as server:
        yield server


def run_digest(config: Path, api: FakeCTGov, *args: str) -> int:
    """The walks (search requests) the run made; its look-ups by ID are in ``api.requests``."""
    api.reset_log()
    result = CliRunner().invoke(cli, ["digest", "--config", str(config), "--api-url", api.url, *args])
    assert result.exit_code == 0, result.output
    return sum(1 for r in api.requests if r.path.endswith("/studies") and "filter.ids" not in r.params)


def lookups(api: FakeCTGov) -> list[str]:
    return [r.params["filter.ids"] for r in api.requests if "filter.ids" in r.params]


@pytest.fixture
def with_unreadable(api):
    """The stand-in also serves a record no search can read (the API matches it)."""
    studies = api.studies
    unreadable = copy.deepcopy(studies[0])
    unreadable["protocolSection"]["identificationModule"]["nctId"] = "NCT123"
    api.set_studies([*studies, unreadable])
    yield api
    api.set_studies(studies)


def test_a_run_walks_each_question_once_and_every_search_gets_its_own_digest(with_unreadable, tmp_path):
    api = with_unreadable
    names = list(SEARCHES)
    with SMTPServer() as smtp:
        shared = write_config(tmp_path / "shared.toml", smtp.port, tmp_path / "shared.db", names)
        assert run_digest(shared, api) == DISTINCT_QUESTIONS
        assert len(smtp.messages) == len(names)
        # One contact look-up per e-mail at most; identical ones are shared.
        asked = lookups(api)
        assert len(asked) == len(set(asked)) < len(names)
        together = reported(tmp_path / "shared.db")
        # Each search alone, from its own empty state: the same trials, the same snapshots.
        alone_requests = 0
        for name in names:
            config = write_config(tmp_path / f"{name}.toml", smtp.port, tmp_path / f"{name}.db", [name])
            alone_requests += run_digest(config, api)
            assert reported(tmp_path / f"{name}.db")[name] == together[name], name
        assert alone_requests == len(names)
    sizes = {name: len(together[name]) for name in names}
    assert sizes["ms-25"] < sizes["ms-50"] < sizes["ms-100"]  # the radius was applied locally
    assert 0 < sizes["btk-100"] < sizes["ms-100"] < sizes["ms-100-soon"]


def test_a_second_run_with_news_still_walks_each_question_once(api, tmp_path):
    names = list(SEARCHES)
    with SMTPServer() as smtp:
        config = write_config(tmp_path / "c.toml", smtp.port, tmp_path / "s.db", names)
        run_digest(config, api)
        studies = api.studies
        removed = studies.pop(0)  # one trial disappears: its searches look it up
        api.set_studies(studies)
        try:
            walks = run_digest(config, api)
        finally:
            api.set_studies([removed, *studies])
    assert walks == DISTINCT_QUESTIONS
    asked = lookups(api)
    gone = [ids for ids in asked if removed["protocolSection"]["identificationModule"]["nctId"] in ids]
    assert gone and len(asked) == len(set(asked))  # identical look-ups are made once


BOSTON = Place(name="Boston", lat=42.3601, lon=-71.0589, kind="coordinates")


def test_only_a_wider_radius_around_the_same_point_is_shared(api) -> None:
    queries = [
        Query(place=BOSTON, radius=Radius(100, "mi")),
        Query(place=BOSTON, radius=Radius(200, "km")),  # 124 mi: the widest
        Query(place=BOSTON, radius=Radius(10, "mi"), statuses=("RECRUITING", "NOT_YET_RECRUITING")),
        Query(place=Place(name="Near", lat=42.36, lon=-71.0589, kind="coordinates"), radius=Radius(5, "mi")),
    ]
    api.reset_log()
    with SharedWalks(Client(api.url), queries) as walks:
        answers = [list(walks.iter_studies({**q.params(), "fields": "NCTId"})) for q in queries]
    assert [r.params["filter.geo"] for r in api.requests] == [
        "distance(42.3601,-71.0589,200km)",  # 100 mi asks the 200 km walk
        # (the 200 km search itself is answered from memory)
        "distance(42.3601,-71.0589,10mi)",  # other statuses: its own walk, its own radius
        "distance(42.36,-71.0589,5mi)",  # another point
    ]
    assert walks.requests_saved == 1
    assert answers[0] is not answers[1] and answers[0] == answers[1] and answers[0]
