"""A digest whose saved search names a profile says, per item, whether the trial could fit."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from trialfinder.config import load_config
from trialfinder.exceptions import ConfigError

from .eligibility_support import page_with_criteria
from .smtpserver import SMTPServer
from .test_digest import STUDIES, digest, only_message, parts, write_config
from .test_eligibility_profile import ISSUE_PROFILE


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def criteria_api(mocked):
    calls = []
    mocked.assert_all_requests_are_fired = False

    def answer(request):
        calls.append({k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()})
        return 200, {"Content-Type": "application/json"}, json.dumps(page_with_criteria())

    mocked.add_callback("GET", STUDIES, callback=answer)
    return calls


def test_digest_items_say_whether_they_fit(criteria_api, smtp, tmp_path):
    (tmp_path / "me.toml").write_text(ISSUE_PROFILE)
    config = write_config(tmp_path / "config.toml", smtp.port, profile='"me.toml"')
    result = digest(config)
    assert result.exit_code == 0, result.output
    assert "EligibilityCriteria" in criteria_api[0]["fields"]
    plain, html = parts(only_message(smtp).message)
    assert ("Pre-screen: does not fit your profile: the trial admits PPMS, not non-active secondary "
            "progressive MS (“Diagnosis of primary progressive multiple sclerosis (PPMS)") in plain
    assert "Pre-screen: could fit; ask the study team: Would you and your neurologist consider stopping ocrelizumab" in plain
    assert "<b>Pre-screen:</b> could fit" in html and "“Diagnosis of primary progressive" in html


def test_inline_profile_and_html_escaping(mocked, smtp, tmp_path):
    page = page_with_criteria()
    hostile = "Inclusion Criteria:\n* Diagnosis of <b>PPMS</b> <script>alert(1)</script>\n"
    page["studies"][0]["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = hostile
    mocked.get(STUDIES, json=page)
    config = write_config(tmp_path / "config.toml", smtp.port,
                          extra_search='[search.profile]\nms_type = "rrms"\nedss = 2.0\nmonths_since_relapse = 3\n')
    assert digest(config).exit_code == 0
    plain, html = parts(only_message(smtp).message)
    assert "Pre-screen: does not fit your profile: the trial admits non-active SPMS, not relapsing-remitting MS" in plain
    assert "“Diagnosis of <b>PPMS</b> <script>alert(1)</script>”" in plain  # plain text: as written
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>PPMS</b>" not in html


def test_without_profile_no_fit_lines_and_no_criteria_fetched(criteria_api, smtp, tmp_path):
    config = write_config(tmp_path / "config.toml", smtp.port)
    assert digest(config).exit_code == 0
    plain, _ = parts(only_message(smtp).message)
    assert "Pre-screen" not in plain
    assert "EligibilityCriteria" not in criteria_api[0]["fields"]


def test_bad_profile_in_config_names_search_and_key(tmp_path):
    (tmp_path / "me.toml").write_text("edss = 12\n")
    config = write_config(tmp_path / "config.toml", 2525, profile='"me.toml"')
    with pytest.raises(ConfigError, match=r"search 'btk-boston'.profile: .*edss"):
        load_config(config)
    result = digest(config)
    assert result.exit_code == 2 and "edss" in result.stderr
