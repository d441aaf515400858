"""Shared test set-up: an isolated environment, fixture loading, mocked HTTP."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import responses
from hypothesis import settings

# Mutation testing (README "Development") runs every test under a tracer on shared cores:
# no per-example deadline there, and fewer examples per property.
settings.register_profile("mutation", deadline=None, max_examples=30)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
API = "https://ctgov.test/api/v2"  # never resolves: a test that forgets to mock fails loudly

# One place index (unpacked once from the package; its file name carries the version), shared
# with subprocesses and reused by later runs on this machine. CI points it elsewhere.
os.environ.setdefault(
    "TRIALFINDER_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"trialfinder-test-cache-{os.getuid()}")
)


def under_ci() -> bool:
    """True in continuous integration (``CI=true``, as CI services and .ci/run's host set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_unless_ci(reason: str, *, allow_module_level: bool = False) -> None:
    """Skip for a missing tool on a developer's machine; under CI, fail instead, so that a
    broken install step cannot make a whole group of tests vanish from a green run."""
    if under_ci():
        pytest.fail(f"{reason} (CI=true: a skip here would hide tests)", pytrace=False)
    pytest.skip(reason, allow_module_level=allow_module_level)


def skip_here(reason: str) -> None:
    """Skip because this machine cannot do what the test needs (a filesystem without
    ``chattr +i``, say): not a missing install, so a skip even under CI."""
    pytest.skip(reason)


def require_tool(name: str, why: str) -> None:
    """Skip (fail under CI) when the command-line tool ``name`` is not on PATH."""
    if not shutil.which(name):
        skip_unless_ci(f"{name} is needed {why}")


def load_fixture(name: str) -> Any:
    """A JSON fixture by its path below ``fixtures/``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No proxies, no real API URL, no transport or deadline settings, no user config or
    state: everything under tmp_path."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.startswith("TRIALFINDER_SMTP"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TRIALFINDER_API_URL", raising=False)
    monkeypatch.delenv("TRIALFINDER_CONFIG", raising=False)
    for name in ("TRIALFINDER_TRANSPORT", "TRIALFINDER_USER_AGENT", "TRIALFINDER_DEADLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRIALFINDER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def mocked():
    """``responses`` mock that fails the test when a registered response goes unused."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def btk_page() -> dict[str, Any]:
    """The constructed BTK search page near Boston (see fixtures/README.md)."""
    return load_fixture("constructed/search_btk_boston.json")


class BostonPlace:
    """A stand-in Place for unit tests that do not exercise the gazetteer."""

    name = "Boston, Massachusetts, United States"
    lat = 42.3601
    lon = -71.0589
    kind = "city"
    note = None


@pytest.fixture(scope="session", autouse=True)
def gazetteer() -> None:
    """Build the place index before any test, so no test's stderr carries the one-off note."""
    from trialfinder.places import resolve_place

    resolve_place("Boston, MA")


@pytest.fixture(scope="module")
def server():
    """The loopback ClinicalTrials.gov stand-in with the constructed BTK world, one per module."""
    from .e2e_support import world
    from .fakeapi import FakeCTGov

    with FakeCTGov(world()) as api:
        yield api


@pytest.fixture
def api(server):
    """The module's stand-in, reset: the BTK world, no faults, an empty request log."""
    from .e2e_support import world

    server.clear_faults()
    server.set_studies(world())  # also drops the stand-in's cached query plans
    server.reset_log()
    yield server
    server.clear_faults()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate and key for localhost, made with openssl: (cert, key)."""
    import subprocess

    require_tool("openssl", "to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return folder / "cert.pem", folder / "key.pem"
