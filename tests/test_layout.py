"""The table fitted to a terminal, true site headings, and the summary sentence."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.drugclasses import find_drug_class
from trialfinder.finder import SearchResult
from trialfinder.layout import Column, cut_words, distinctive_titles, fit
from trialfinder.models import Trial
from trialfinder.places import Place
from trialfinder.query import MAX_RADIUS_MI, Query, Radius, parse_statuses
from trialfinder.ranking import match, rank
from trialfinder.render import footer, render_search, site_heading

from .conftest import API, load_fixture

BOSTON = Place(name="Boston, Massachusetts, United States", lat=42.3601, lon=-71.0589, kind="city")
ORELA = [
    "Orelabrutinib (ICP-022) Versus Placebo in Non-active Secondary Progressive Multiple Sclerosis",
    "Orelabrutinib (ICP-022) Versus Placebo in Primary Progressive Multiple Sclerosis",
]


def result(statuses=("RECRUITING",), limit=None, **query) -> SearchResult:
    q = Query(place=BOSTON, drug_class=find_drug_class("btk"), statuses=statuses,
              radius=Radius(150), **query)
    trials = [Trial.from_api(s) for s in load_fixture("constructed/search_btk_boston.json")["studies"]]
    ranked = rank([m for m in (match(t, q) for t in trials) if m], "distance")
    out = SearchResult(q, ranked[:limit] if limit else ranked, total=len(ranked))
    out.truncated = limit is not None and len(ranked) > limit
    return out


def table_lines(text: str) -> list[str]:
    return text.split("\n\n")[0].splitlines()


# -- fitting -------------------------------------------------------------------------------


@pytest.mark.parametrize("statuses", [("RECRUITING",), parse_statuses(["open"]), ()])
@pytest.mark.parametrize("width", [80, 90, 100, 120, 150])
def test_no_line_is_wider_than_the_terminal(statuses, width):
    text = render_search(result(statuses), "table", width)
    assert max(len(line) for line in text.splitlines()) <= width, text
    # what a person decides by survives: distance, city and state, status, phase
    assert re.search(r"NCT04458051 .* 3 +Recruiting +0\.\d mi +Boston, MA", text), text
    assert "Springfield, MA" in text or "Burlington, MA" in text, text


def test_sponsor_and_facility_go_first():
    wide = render_search(result(), "table", None)
    assert "Sponsor" in wide and "Facility" in wide and "Massachusetts General Hospital" in wide
    narrow = render_search(result(), "table", 100)
    assert "Sponsor" not in narrow and "Sanofi" not in narrow
    assert "Nearest recruiting" in narrow and "Springfield, MA" in narrow


def test_no_width_keeps_every_column_at_full_width():
    text = render_search(result(parse_statuses(["open"])), "table", None)
    assert ORELA[0] in text and ORELA[1] in text and "Novartis Pharmaceuticals" in text


@pytest.mark.parametrize("width", range(14, 70, 3))
def test_distinctive_titles_tell_trials_apart(width):
    cut = distinctive_titles(ORELA + ["PERSEUS"], width)
    assert cut[0] != cut[1]
    assert cut[2] == "PERSEUS"
    for short, full in zip(cut, ORELA, strict=False):
        assert len(short) <= width
        words = set(full.split())
        # cut at word boundaries: every piece but the ellipsis is a whole word of the title
        assert all(w.strip("…") in words or w == "…" for w in short.split() if w.strip("…")), short


def test_cut_words_never_cuts_inside_a_word_when_a_boundary_is_near():
    assert cut_words("Massachusetts General Hospital", 20) == "Massachusetts…"
    assert cut_words("… Primary Progressive Multiple Sclerosis", 20) == "… Primary…"
    assert cut_words("short", 10) == "short"


def test_fit_drops_and_shrinks_in_plan_order():
    columns = [Column("a", "A", ["x" * 30]), Column("b", "B", ["y" * 30]), Column("c", "C", ["z" * 30])]
    kept = fit(columns, 70, [("drop", "c"), ("shrink", "b", 10)])
    assert [c.key for c in kept] == ["a", "b"] and kept[1].width == 30
    kept = fit(columns, 50, [("drop", "c"), ("shrink", "b", 10)])
    assert kept[1].width == 18  # only as narrow as needed: 30 + 2 + 18 = 50


# -- the site heading ------------------------------------------------------------------


def test_site_heading_says_what_was_asked():
    assert site_heading(["RECRUITING"]) == "Nearest recruiting site"
    assert site_heading(parse_statuses(["open"])) == "Nearest open site"
    assert site_heading(parse_statuses(["not-yet-recruiting"])) == "Nearest open site"
    assert site_heading(()) == "Nearest site"
    assert site_heading(["RECRUITING", "ACTIVE_NOT_RECRUITING"]) == "Nearest site"


@pytest.mark.parametrize("width", [None, 80, 120])
def test_a_withdrawn_site_shows_as_withdrawn_and_never_under_recruiting(width):
    text = render_search(result(()), "table", width)
    assert "recruiting site" not in text.splitlines()[0]
    assert "(withdrawn)" in row(text, "NCT05156281"), text
    own = render_search(result(parse_statuses(["open"])), "table", width)
    assert "(not yet" in row(own, "NCT07067463"), own


def row(text: str, nct_id: str) -> str:
    """A table row with its continuation lines."""
    lines = text.split("\n\n")[0].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(nct_id))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("NCT")), len(lines))
    return "\n".join(lines[start:end])


# -- the summary sentence ----------------------------------------------------------------


def test_summary_is_singular_for_one_trial():
    r = result()
    r.matches = r.matches[:1]
    assert footer(r)[0].startswith("1 recruiting multiple sclerosis trial of BTK inhibitors within")


def test_summary_names_every_filter():
    r = result(parse_statuses(["recruiting", "not-yet-recruiting"]), phases=("PHASE2", "PHASE3"),
               age=45, sex="female")
    assert footer(r)[0] == (
        f"{len(r.matches)} recruiting or not yet recruiting phase 2 or 3 multiple sclerosis trials of BTK "
        "inhibitors open to women aged 45 within 150 mi of Boston, Massachusetts, United States.")


def test_summary_says_the_total_when_limit_cut_the_list():
    assert footer(result((), limit=2))[0].startswith(
        "Showing the nearest 2 of 5 multiple sclerosis trials of BTK inhibitors (any status)")


def test_empty_hint_suggests_a_radius_not_yet_covered():
    q = Query(place=BOSTON, radius=Radius(300, "km"), statuses=parse_statuses(["open"]))
    lines = footer(SearchResult(q, []))
    assert "a larger --radius (e.g. 600km)" in lines[1]
    assert "--status open" not in lines[1]  # already open
    q = q.with_(radius=Radius(MAX_RADIUS_MI), phases=("PHASE4",))
    lines = footer(SearchResult(q, []))
    assert "--radius" not in lines[1] and "without --phase" in lines[1]


# -- through the command ---------------------------------------------------------------


@pytest.mark.parametrize("columns", ["80", "120"])
def test_search_honours_columns(mocked, btk_page, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    mocked.get(f"{API}/studies", json=btk_page)
    out = CliRunner().invoke(cli, ["search", "--api-url", API, "-d", "btk", "-n", "02115", "-s", "open"])
    assert out.exit_code == 0, out.output
    assert max(len(line) for line in out.stdout.splitlines()) <= int(columns), out.stdout


def test_search_into_a_file_keeps_every_column(mocked, btk_page, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    mocked.get(f"{API}/studies", json=btk_page)
    out = CliRunner().invoke(cli, ["search", "--api-url", API, "-d", "btk", "-n", "02115"])
    assert "Sponsor" in out.stdout and "Novartis Pharmaceuticals" in out.stdout


@pytest.mark.parametrize("args", [[], ["config"]])
def test_bare_group_prints_its_help(args):
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("Usage: ")
    assert "Commands:" in out.stdout and "Error" not in out.output


@pytest.mark.parametrize("width", [80, 90, 100, 120])
def test_the_two_orelabrutinib_trials_read_differently_at_every_width(width):
    text = render_search(result(parse_statuses(["open"])), "table", width)
    spms, ppms = row(text, "NCT07299019"), row(text, "NCT07067463")
    assert "Non-active" in spms and "Primary" in ppms, text
    assert "Primary" not in spms and "Non-active" not in ppms, text
