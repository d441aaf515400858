"""Drug-class memberships cite sources a reader can follow, never internal notes."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from trialfinder.cli import cli
from trialfinder.drugclasses import drug_classes

INTERNAL = re.compile(r"REFERENCE\.md|\bs\d+[A-Z]?\b|stored source|trialfinder", re.IGNORECASE)


def test_no_source_cites_internal_notes():
    for c in drug_classes():
        for d in c.members:
            assert d.source and not INTERNAL.search(d.source), (c.key, d.name, d.source)


def test_btk_sources_are_public_links_or_say_unconfirmed():
    out = CliRunner().invoke(cli, ["drug-classes", "btk", "-f", "json"])
    assert out.exit_code == 0, out.output
    members = json.loads(out.stdout)[0]["members"]
    for m in members:
        if m["studied_in_ms"]:
            assert "https://" in m["source"], m
    fenebrutinib = next(m for m in members if m["drug"] == "fenebrutinib")
    assert "RG7845" in fenebrutinib["codes"] and "unconfirmed" in fenebrutinib["source"]


def test_drug_classes_btk_table_has_no_internal_notes():
    out = CliRunner().invoke(cli, ["drug-classes", "btk"])
    assert out.exit_code == 0 and "REFERENCE" not in out.stdout and "stored source" not in out.stdout
