"""Digest behaviours whose regression would cost a person news or a trial (issue 11).

Every run goes through the ``digest`` command (click's runner, in process) against the
loopback API stand-in (tests/fakeapi.py) and a real SMTP server on loopback
(tests/smtpserver.py), with the state in a real SQLite file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.client import Client
from trialfinder.store import State, StateError

from .e2e_support import (
    PERSEUS,
    REMODEL_1,
    mail_parts,
    nct,
    protocol,
    reported,
    world,
    write_config,
)
from .fakeapi import FakeCTGov
from .smtpserver import SMTPServer

ORELA_SPMS = "NCT07299019"  # 2.8 mi from Boston; PERSEUS 0.5 mi; REMODEL-1 80 mi (Springfield)


@pytest.fixture(scope="module")
def stand_in():
    with FakeCTGov(world()) as api:
        yield api


@pytest.fixture
def api(stand_in):
    stand_in.clear_faults()
    stand_in.set_studies(world())
    stand_in.reset_log()
    yield stand_in
    stand_in.clear_faults()


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


class Digest:
    """Run ``trialfinder digest`` on one configuration; read what it sent and recorded."""

    def __init__(self, api: FakeCTGov, smtp: SMTPServer, config: Path) -> None:
        self.api, self.smtp, self.config = api, smtp, config

    def __call__(self, *args: str) -> Any:
        return CliRunner().invoke(cli, ["digest", "--config", str(self.config), "--api-url", self.api.url, *args],
                                  catch_exceptions=False)

    @property
    def state(self) -> dict[str, int]:
        return reported(self.config.parent / "state.db")

    def last_plain(self) -> str:
        return mail_parts(self.smtp.messages[-1].message)[0]

    def subject(self) -> str:
        return str(self.smtp.messages[-1].message["Subject"])


def make_digest(api: FakeCTGov, smtp: SMTPServer, tmp_path: Path, **keys: str) -> Digest:
    return Digest(api, smtp, write_config(tmp_path / "config.toml", smtp.port, **keys))


def set_world(api: FakeCTGov, studies: list[dict[str, Any]]) -> None:
    api.set_studies(studies)


# -- a trial that drops out and comes back --------------------------------------------------


def test_a_trial_that_matches_again_is_news_once_and_is_recorded_as_active(api, smtp, tmp_path):
    digest = make_digest(api, smtp, tmp_path)
    assert digest().exit_code == 0
    assert digest.state == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 1}
    posted = protocol(world(), REMODEL_1)["statusModule"]["studyFirstPostDateStruct"]["date"]
    first = digest.last_plain()
    assert f"   - new to this search (first posted {posted})\n" in first
    assert "matches again" not in first

    stopped = world()
    protocol(stopped, REMODEL_1)["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    set_world(api, stopped)
    assert digest().exit_code == 0
    assert digest.subject() == "trialfinder: 1 no longer matching MS trial near Boston, MA"
    assert digest.state[REMODEL_1] == 0

    set_world(api, world())  # recruiting again
    result = digest()
    assert result.exit_code == 0
    assert len(smtp.messages) == 3
    assert digest.subject() == "trialfinder: 1 new MS trial near Boston, MA"
    plain = digest.last_plain()
    assert f"REMODEL-1 ({REMODEL_1})" in plain
    assert (f"   - new to this search (first posted {posted}) (matches again after dropping out: the "
            "Novartis Investigative Site, Springfield, MA site is recruiting again)\n") in plain
    assert digest.state[REMODEL_1] == 1  # recorded as active again...

    result = digest()  # ...so the next run has nothing to say about it
    assert result.exit_code == 0 and "no e-mail" in result.stderr
    assert len(smtp.messages) == 3


def test_a_reopened_site_brings_a_trial_back_naming_the_site(api, smtp, tmp_path):
    digest = make_digest(api, smtp, tmp_path)
    assert digest().exit_code == 0

    def springfield(studies: list[dict[str, Any]]) -> dict[str, Any]:
        sites = protocol(studies, REMODEL_1)["contactsLocationsModule"]["locations"]
        return next(site for site in sites if site.get("city") == "Springfield")

    closed = world()
    springfield(closed)["status"] = "WITHDRAWN"  # the study itself still says recruiting
    set_world(api, closed)
    assert digest().exit_code == 0
    assert "Springfield, MA site is now withdrawn" in digest.last_plain()
    assert digest.state[REMODEL_1] == 0

    reopened = world()
    springfield(reopened)["status"] = "RECRUITING"
    set_world(api, reopened)
    assert digest().exit_code == 0
    assert digest.subject() == "trialfinder: 1 new MS trial near Boston, MA"
    assert ("(matches again after dropping out: the Novartis Investigative Site, Springfield, MA site "
            "is recruiting again)") in digest.last_plain()
    assert digest.state[REMODEL_1] == 1


# -- the saved search's limit -----------------------------------------------------------------


def test_the_saved_limit_is_the_most_items_per_e_mail(api, smtp, tmp_path):
    digest = make_digest(api, smtp, tmp_path, limit="1")
    assert digest().exit_code == 0
    assert digest.subject() == "trialfinder: 1 of 3 new MS trials near Boston, MA, the rest in the next digests"
    plain = digest.last_plain()
    assert "PERSEUS" in plain and "REMODEL-1" not in plain
    assert "2 more items did not fit" in plain
    assert digest.state == {PERSEUS: 1}  # the rest follow in the next e-mails
    digest()
    digest()
    assert digest.state == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 1}
    assert len(smtp.messages) == 3


def test_a_trial_ranked_past_the_saved_limit_is_not_gone(api, smtp, tmp_path):
    digest = make_digest(api, smtp, tmp_path, limit="2")
    without_orela = [s for s in world() if nct(s) != ORELA_SPMS]
    set_world(api, without_orela)
    assert digest().exit_code == 0
    assert digest.state == {PERSEUS: 1, REMODEL_1: 1}

    set_world(api, world())  # ORELA (2.8 mi) now ranks second, REMODEL-1 (80 mi) third
    assert digest().exit_code == 0
    assert digest.subject() == "trialfinder: 1 new MS trial near Boston, MA"
    plain = digest.last_plain()
    assert "NO LONGER MATCHING" not in plain
    assert digest.state == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 1}


# -- unreadable records ---------------------------------------------------------------------


def test_an_unreadable_record_is_never_reported_as_no_longer_matching(api, smtp, tmp_path):
    digest = make_digest(api, smtp, tmp_path)
    digest()
    garbled = world()
    # The stand-in still finds it (it reads NCT numbers loosely); trialfinder cannot parse it.
    protocol(garbled, REMODEL_1)["identificationModule"]["nctId"] = "nct5147220"
    set_world(api, garbled)
    result = digest()
    assert result.exit_code == 0
    assert "1 records could not be read; not reporting any trial as no longer matching" in result.stderr
    assert len(smtp.messages) == 1  # no e-mail: nothing new, nothing gone
    assert digest.state[REMODEL_1] == 1


# -- partially refused recipients -----------------------------------------------------------


def test_partially_refused_recipients_exit_1_with_a_warning_naming_them(api, smtp, tmp_path):
    digest = make_digest(api, smtp, tmp_path)
    smtp.handler.refuse_rcpt = {"family@example.org"}
    result = digest()
    assert result.exit_code == 1
    assert "warning: search 'btk-boston': the server refused family@example.org" in result.stderr
    assert "nurse@example.org" not in result.stderr.split("refused", 1)[1].splitlines()[0]
    [got] = smtp.messages
    assert got.recipients == ["nurse@example.org"]
    # The accepted recipient has the news: it is recorded, and not sent again.
    assert digest.state == {PERSEUS: 1, ORELA_SPMS: 1, REMODEL_1: 1}


# -- radius units ---------------------------------------------------------------------------


def test_a_km_radius_in_a_saved_search_is_km(api, smtp, tmp_path):
    """REMODEL-1's only open site (Springfield, 80 mi = 129 km) is outside 100 km, though
    the registry returns the study for a withdrawn site 11 mi out."""
    digest = make_digest(api, smtp, tmp_path, radius='"100km"')
    assert digest().exit_code == 0
    assert digest.state == {PERSEUS: 1, ORELA_SPMS: 1}
    plain = digest.last_plain()
    assert "nearest site: Massachusetts General Hospital, Boston, MA, 1.0 km (2 within 100 km)" in plain
    assert "Research Site, Cambridge, MA, 4.5 km (1 within 100 km)" in plain
    # The stand-in did return REMODEL-1 to the digest's search: the ranking left it out.
    sent = {k: v for k, v in api.requests[0].params.items() if k not in ("pageSize", "countTotal")}
    assert sent["filter.geo"].endswith(",100km)")
    assert REMODEL_1 in {nct(s) for s in Client(api.url).iter_studies(sent)}


# -- one transaction per record -------------------------------------------------------------


def abort_on(db_path: Path, nct_id: str) -> None:
    """A trigger in the real SQLite file that fails any write of ``nct_id`` to ``reported``."""
    db = sqlite3.connect(db_path)
    for event in ("INSERT", "UPDATE"):
        db.execute(f"CREATE TRIGGER fail_{event.lower()} BEFORE {event} ON reported WHEN NEW.nct_id = '{nct_id}' "
                   "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    db.commit()
    db.close()


def rows(db_path: Path) -> tuple[list[Any], list[Any]]:
    db = sqlite3.connect(db_path)
    try:
        return (db.execute("SELECT * FROM reported ORDER BY nct_id").fetchall(),
                db.execute("SELECT * FROM runs ORDER BY id").fetchall())
    finally:
        db.close()


def test_a_failure_after_the_first_row_records_nothing(tmp_path):
    path = tmp_path / "state.db"
    state = State(path)
    state.record("s", current={"NCT00000003": {"v": 0}}, gone=[], outcome="sent", counts=(1, 0, 0))
    before = rows(path)
    abort_on(path, "NCT00000002")
    with pytest.raises(StateError, match="injected failure"):
        # NCT00000001 is written first; the failure comes with the second row.
        state.record("s", current={"NCT00000001": {"v": 1}, "NCT00000002": {"v": 2}},
                     gone=["NCT00000003"], outcome="sent", counts=(2, 0, 1))
    assert rows(path) == before
    state.close()


def test_a_failure_while_retiring_gone_trials_records_nothing(tmp_path):
    path = tmp_path / "state.db"
    state = State(path)
    state.record("s", current={"NCT00000001": {"v": 0}, "NCT00000002": {"v": 0}}, gone=[], outcome="sent",
                 counts=(2, 0, 0))
    before = rows(path)
    abort_on(path, "NCT00000002")
    with pytest.raises(StateError, match="injected failure"):
        state.record("s", current={"NCT00000001": {"v": 1}}, gone=["NCT00000002"], outcome="sent",
                     counts=(0, 1, 1))
    assert rows(path) == before
    state.close()


def test_a_digest_whose_recording_fails_midway_leaves_the_state_as_it_was(api, smtp, tmp_path):
    digest = make_digest(api, smtp, tmp_path)
    digest("--baseline")
    db_path = tmp_path / "state.db"
    before = rows(db_path)
    changed = world()
    for study in changed:  # every trial changes: three rows to rewrite, the second one fails
        protocol([study], nct(study))["identificationModule"]["briefTitle"] += " (amended)"
    set_world(api, changed)
    abort_on(db_path, ORELA_SPMS)
    result = digest()
    assert result.exit_code != 0
    assert "injected failure" in result.stderr
    assert rows(db_path) == before


def test_a_site_closed_in_a_kept_trial_says_what_became_of_it(api, smtp, tmp_path):
    """The digest's search keeps every site (not only those in range), so a site that is no
    longer open is named with its new status, and the run records the message it sent."""
    digest = make_digest(api, smtp, tmp_path)
    digest()
    closed = world()
    for location in protocol(closed, PERSEUS)["contactsLocationsModule"]["locations"]:
        if location["city"] == "Boston":
            location["status"] = "WITHDRAWN"
    set_world(api, closed)
    assert digest().exit_code == 0
    plain = digest.last_plain()
    assert "- site no longer open to you: Massachusetts General Hospital, Boston, MA (now withdrawn)" in plain
    assert "nearest site: Investigational Site Number : 8400002, Providence, RI, 41 mi (1 within 100 mi)" in plain
    message_ids = [r[-1] for r in rows(tmp_path / "state.db")[1]]
    assert message_ids == [m.message["Message-ID"] for m in smtp.messages]
