"""The eligibility evaluation set (fixtures/eligibility) is internally consistent.

Every label points at a stored record and a stored profile, every quote is verbatim from
that record, profiles use only the issue-7 profile contract, and the stored files still
have the SHA-256 recorded in SOURCES.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "fixtures" / "eligibility"
LABELS: list[dict[str, Any]] = json.loads((EVAL / "labels.json").read_text(encoding="utf-8"))
RECORDS: list[dict[str, Any]] = json.loads((EVAL / "records.json").read_text(encoding="utf-8"))
with open(EVAL / "profiles.toml", "rb") as fh:
    PROFILES: dict[str, dict[str, Any]] = tomllib.load(fh)["profiles"]

PROFILE_KEYS = {
    "age", "sex", "ms_type", "edss", "years_since_onset", "years_since_diagnosis",
    "months_since_relapse", "never_relapsed", "pregnant", "breastfeeding", "weeks_postpartum",
    "treatments",
}
TREATMENT_KEYS = {"drug", "current", "months_on", "months_since_stopped"}
MS_TYPES = {"rrms", "rms", "cis", "spms", "aspms", "nrspms", "ppms"}
DECIDED_BY = {"age", "sex", "ms_type", "edss", "relapse", "therapy", "pregnancy", "duration", "condition", "other"}
V2_FIELDS = {"minimumAge", "maximumAge", "sex"}
JM_FIELDS = {"min_age_years", "max_age_years", "sex"}


def eligibility(record: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(nct_id, criteria text, structured fields) of a record entry, read from its file."""
    data = json.loads((ROOT / record["file"]).read_text(encoding="utf-8"))
    locator = record["locator"]
    if locator != "$":
        index = re.fullmatch(r"\$\.studies\[(\d+)\]", locator)
        assert index, locator
        data = data["studies"][int(index.group(1))]
    if record["format"] == "ctgov_v2":
        module = data["protocolSection"]["eligibilityModule"]
        nct = data["protocolSection"]["identificationModule"]["nctId"]
        return nct, module["eligibilityCriteria"], {k: module[k] for k in V2_FIELDS if k in module}
    if record["format"] == "jm_study":
        module = data["eligibility"]
        return data["nct_id"], module["criteria_text"], {k: module[k] for k in JM_FIELDS if module.get(k) is not None}
    assert record["format"] == "jm_eligibility", record["format"]
    return record["nct_id"], data["criteria_text"], {k: data[k] for k in JM_FIELDS if data.get(k) is not None}


BY_NCT = {record["nct_id"]: record for record in RECORDS}
TEXTS = {nct: eligibility(record) for nct, record in BY_NCT.items()}


def test_records_are_distinct_and_hold_the_trial_they_claim():
    assert len(BY_NCT) == len(RECORDS)
    for nct, (found, criteria, _) in TEXTS.items():
        assert found == nct
        assert len(criteria) > 50, nct


def test_enough_trials_and_ms_trials():
    assert len(RECORDS) >= 25
    assert sum(record["ms_trial"] for record in RECORDS) >= 15


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_uses_only_contract_keys_with_valid_values(name):
    profile = PROFILES[name]
    assert set(profile) <= PROFILE_KEYS, set(profile) - PROFILE_KEYS
    if "ms_type" in profile:
        assert profile["ms_type"] in MS_TYPES
    if "sex" in profile:
        assert profile["sex"] in {"female", "male"}
    if "edss" in profile:
        assert 0 <= profile["edss"] <= 10 and profile["edss"] * 2 == int(profile["edss"] * 2)
    for key in ("age", "years_since_onset", "years_since_diagnosis", "months_since_relapse", "weeks_postpartum"):
        if key in profile:
            assert profile[key] >= 0, key
    for treatment in profile.get("treatments", []):
        assert set(treatment) <= TREATMENT_KEYS and "drug" in treatment
        assert all(treatment[k] >= 0 for k in ("months_on", "months_since_stopped") if k in treatment)


def test_every_label_names_a_stored_trial_and_profile_once():
    pairs = [(label["nct_id"], label["profile"]) for label in LABELS]
    assert len(pairs) == len(set(pairs))
    assert len(LABELS) >= 200
    for nct, profile in pairs:
        assert nct in BY_NCT, nct
        assert profile in PROFILES, profile


def reasons(label: dict[str, Any]) -> list[dict[str, Any]]:
    first = {"decided_by": label["decided_by"][0] if label["decided_by"] else None,
             "source": label["source"], "quote": label["quote"]}
    return [first, *label["also"]]


@pytest.mark.parametrize("label", LABELS, ids=[f"{lab['nct_id']}-{lab['profile']}" for lab in LABELS])
def test_label_is_well_formed_and_quotes_are_verbatim(label):
    assert label["expected"] in {"excluded", "not_excluded"}
    assert label["note"]
    if label["expected"] == "not_excluded":
        assert label["decided_by"] == [] and label["quote"] == "" and label["also"] == []
        return
    assert label["decided_by"] and set(label["decided_by"]) <= DECIDED_BY
    _, criteria, fields = TEXTS[label["nct_id"]]
    for reason in reasons(label):
        assert reason["quote"], label
        if reason["source"] == "criteria":
            assert reason["quote"] in criteria, reason["quote"]
        else:
            assert reason["source"] in fields, reason["source"]
            assert str(fields[reason["source"]]) == reason["quote"]
    assert set(label["decided_by"]) == {r["decided_by"] for r in reasons(label)}


def test_sources_md_hashes_match_the_stored_records():
    sources = (EVAL / "SOURCES.md").read_text(encoding="utf-8")
    recorded = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", sources, flags=re.MULTILINE)
    )
    stored = sorted(p.name for p in (EVAL / "records").glob("*.json"))
    assert stored and sorted(recorded) == stored
    for name in stored:
        assert hashlib.sha256((EVAL / "records" / name).read_bytes()).hexdigest() == recorded[name], name
