"""A missing tool skips tests on a developer's machine but fails them under CI (issue 11):
a broken install step must not make the end-to-end module or the TLS tests vanish."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import e2e_support
from .conftest import require_tool, skip_unless_ci, under_ci


@pytest.mark.parametrize("value, ci", [("true", True), ("1", True), ("TRUE", True), ("", False), ("false", False)])
def test_ci_is_read_from_the_environment(monkeypatch, value, ci):
    monkeypatch.setenv("CI", value)
    assert under_ci() is ci


def outcome(call, *args, **kwargs) -> tuple[type, str]:
    """What ``call`` raised: a skip or a failure (both are BaseExceptions that would otherwise
    end this test itself as skipped or failed, hiding what the code did)."""
    with pytest.raises(BaseException) as info:
        call(*args, **kwargs)
    return info.type, str(info.value)


def test_a_skip_is_a_skip_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    kind, message = outcome(skip_unless_ci, "openssl is needed")
    assert kind is pytest.skip.Exception and "openssl is needed" in message


def test_a_skip_is_a_failure_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    kind, message = outcome(skip_unless_ci, "openssl is needed")
    assert kind is pytest.fail.Exception and "openssl is needed" in message and "CI=true" in message


def test_a_missing_trialfinder_command_fails_the_e2e_module_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(e2e_support, "TRIALFINDER", Path(tmp_path / "bin" / "trialfinder"))
    monkeypatch.setenv("CI", "true")
    kind, message = outcome(e2e_support.require_installed_command)
    assert kind is pytest.fail.Exception and "installed 'trialfinder' command is missing" in message
    monkeypatch.delenv("CI")
    kind, message = outcome(e2e_support.require_installed_command)
    assert kind is pytest.skip.Exception and "installed 'trialfinder' command is missing" in message


def test_an_installed_command_runs_the_module(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert e2e_support.TRIALFINDER.exists()
    e2e_support.require_installed_command()  # neither skips nor fails


def test_a_missing_tool_such_as_openssl_fails_under_ci(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    kind, message = outcome(require_tool, "openssl", "to make a test certificate")
    assert kind is pytest.fail.Exception and "openssl is needed to make a test certificate" in message
    monkeypatch.delenv("CI")
    kind, _ = outcome(require_tool, "openssl", "to make a test certificate")
    assert kind is pytest.skip.Exception


def test_a_present_tool_neither_skips_nor_fails(monkeypatch):
    monkeypatch.setenv("CI", "true")
    require_tool("sh", "to run anything")


def test_no_test_module_skips_for_a_missing_tool_on_its_own():
    """Every skip goes through conftest's helpers, which fail under CI instead."""
    here = Path(__file__).parent
    offenders = [
        path.name for path in here.glob("*.py")
        if path.name not in ("conftest.py", Path(__file__).name)
        and any(call in path.read_text(encoding="utf-8") for call in ("pytest.skip(", "importorskip(", "skipif("))
    ]
    assert offenders == []
