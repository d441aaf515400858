"""Schema drift, offline: every field piece trialfinder asks the API for leads to a field of
the pinned official OpenAPI spec (fixtures/spec/ctg-oas-v2.yaml, see its SOURCES.md).

The spec describes the study record by JSON field (``protocolSection.designModule.phases``);
piece names (``Phase``) are the API's names for those fields. The link between the two is the
stand-in's piece table (tests/fake_essie.py, after the official "Study Data Structure" page);
enum pieces are also checked against the real ``/studies/enums`` recording, which lists piece
names verbatim. The pieces are collected from the code, not listed here: the ``*_FIELDS``
constants (trialfinder.doctor.used_fields), the projections and sorts the search and the digest
look-up really send, and every ``AREA[...]`` in the library's source.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import trialfinder
from trialfinder import digest
from trialfinder.client import Client
from trialfinder.doctor import TESTED_API_VERSION, used_fields
from trialfinder.finder import search
from trialfinder.query import SEARCH_FIELDS, SORTS, build_query

from .e2e_support import BOSTON, PERSEUS, world
from .fake_essie import resolve_piece
from .fakeapi import FakeCTGov

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SPEC_PATH = FIXTURES / "spec" / "ctg-oas-v2.yaml"
ENUMS_PATH = FIXTURES / "real" / "Akkikens_cheiron__studies_enums.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def spec_has_path(spec: dict[str, Any], path: tuple[str, ...]) -> bool:
    """Whether ``path`` (JSON keys; lists are walked) leads to a property of the Study schema."""
    schemas = spec["components"]["schemas"]
    node: dict[str, Any] = schemas["Study"]
    for key in path:
        while True:
            if "$ref" in node:
                node = schemas[node["$ref"].rsplit("/", 1)[1]]
            elif node.get("type") == "array":
                node = node["items"]
            else:
                break
        properties = node.get("properties", {})
        if key not in properties:
            return False
        node = properties[key]
    return True


def requested_by_the_code() -> dict[str, set[str]]:
    """The ``fields``, ``sort`` and ``AREA[...]`` pieces of real requests: searches with every
    option that adds a piece, each sort, and the digest's look-up, against the stand-in."""
    seen: dict[str, set[str]] = {"fields": set(), "sort": set(), "area": set()}
    queries = [
        build_query(near=BOSTON, drug_class="btk", phases=["2", "3"], age=40, sex="female"),
        *(build_query(near=BOSTON, sort=sort) for sort in SORTS),
        build_query(condition="any"),
    ]
    with FakeCTGov(world()) as api:
        client = Client(api.url)
        for query in queries:
            search(client, query)
        digest.lookup(client, [PERSEUS])
        for request in api.requests:
            params = request.params
            seen["fields"].update(p for p in params.get("fields", "").split(",") if p)
            seen["sort"].update(s.split(":")[0] for s in params.get("sort", "").split(",") if s)
            for name, value in params.items():
                if name.startswith(("filter.", "query.")):
                    seen["area"].update(re.findall(r"AREA\[(\w+)\]", value))
    return seen


def areas_in_the_source() -> set[str]:
    """Every piece named in an ``AREA[...]`` of the library's source."""
    root = Path(trialfinder.__file__).parent
    return {name for path in root.rglob("*.py") for name in re.findall(r"AREA\[([A-Za-z]\w*)\]", path.read_text())}


def all_pieces() -> list[str]:
    sent = requested_by_the_code()
    sorts = {s.split(":")[0] for s in SORTS.values() if s}
    return sorted(set(used_fields()) | sent["fields"] | sent["sort"] | sent["area"] | sorts
                  | areas_in_the_source())


@pytest.fixture(scope="module")
def pieces() -> list[str]:
    sent = requested_by_the_code()
    sorts = {s.split(":")[0] for s in SORTS.values() if s}
    return sorted(set(used_fields()) | sent["fields"] | sent["sort"] | sent["area"] | sorts
                  | areas_in_the_source())


def test_the_pinned_spec_is_the_recorded_one():
    data = SPEC_PATH.read_bytes()
    recorded = (FIXTURES / "spec" / "SOURCES.md").read_text(encoding="utf-8")
    assert hashlib.sha256(data).hexdigest() in recorded
    assert f"{len(data):,} bytes" in recorded
    assert f'version: "{TESTED_API_VERSION}"' in data.decode("utf-8")


def test_every_projection_the_code_sends_is_a_fields_constant():
    """So that ``doctor`` and the check below see it: a projection lives in a ``*_FIELDS`` constant."""
    sent = requested_by_the_code()
    assert set(SEARCH_FIELDS) <= sent["fields"]
    assert sent["fields"] <= set(used_fields()), sorted(sent["fields"] - set(used_fields()))
    assert sent["sort"] and sent["area"]  # the collection itself works


def test_every_piece_trialfinder_uses_is_a_field_of_the_pinned_spec(spec, pieces):
    assert len(pieces) >= len(SEARCH_FIELDS)
    unknown = [p for p in pieces if (known := resolve_piece(p)) is None or known.name != p]
    assert unknown == [], (
        f"not piece names the stand-in knows (tests/fake_essie.py): {unknown}; add each there with "
        "its JSON path from the official Study Data Structure page, or fix the spelling")
    missing = [f"{p} -> {resolve_piece(p).dotted}" for p in pieces  # type: ignore[union-attr]
               if not spec_has_path(spec, resolve_piece(p).path)]  # type: ignore[union-attr]
    assert missing == [], f"not fields of the pinned spec {SPEC_PATH.name}: {missing}"


def test_enum_pieces_are_named_as_in_the_real_enums_recording(pieces):
    listed = {piece for item in json.loads(ENUMS_PATH.read_text(encoding="utf-8")) for piece in item["pieces"]}
    enum_pieces = [p for p in pieces if (known := resolve_piece(p)) and known.kind == "enum"]
    assert {"OverallStatus", "LocationStatus", "Phase"} <= set(enum_pieces)
    assert sorted(set(enum_pieces) - listed) == []


def test_the_check_sees_a_misspelt_piece(spec):
    """The checks fail on a renamed piece, as they must (a field the stand-in and the spec lack)."""
    assert resolve_piece("LocationGeo") is None
    assert not spec_has_path(spec, ("protocolSection", "contactsLocationsModule", "locations", "geo"))
    assert spec_has_path(spec, ("protocolSection", "contactsLocationsModule", "locations", "geoPoint"))
