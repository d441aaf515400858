"""Run the eligibility pre-screen over the labelled set in fixtures/eligibility/ and score it.

    python benchmarks/eligibility_eval.py            # the table, from the repository root
    python benchmarks/eligibility_eval.py --json     # the figures as JSON
    python benchmarks/eligibility_eval.py --errors   # also every disagreement with its labels

Each label is one invented profile x one real trial record, judged by a person reading the
record (fixtures/eligibility/README.md). The pre-screen's verdict counts as an exclusion only
when it is ``excluded``; ``unclear`` and ``no_conflict`` both mean "not excluded". Targets
(issue 7): false exclusions < 1% of the not-excluded labels; recall >= 90% of exclusions
decided by age, sex, MS type or EDSS; recall >= 75% of all exclusions.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "fixtures" / "eligibility"
CORE = {"age", "sex", "ms_type", "edss"}
TARGETS = {"false_exclusion_rate": 0.01, "core_recall": 0.90, "recall": 0.75}


def _locate(doc: Any, locator: str) -> Any:
    """``'$.studies[3]'`` -> ``doc['studies'][3]``."""
    for part in locator.removeprefix("$").split("."):
        if not part:
            continue
        name, _, index = part.partition("[")
        if name:
            doc = doc[name]
        if index:
            doc = doc[int(index.rstrip("]"))]
    return doc


def load_trial(record: dict[str, Any], root: Path = ROOT) -> Any:
    """A Trial from one entry of records.json (API v2 study, or JourneyMapper's normalised shapes)."""
    from trialfinder.models import Trial
    from trialfinder.text import clean_line, clean_text

    doc = _locate(json.loads((root / record["file"]).read_text(encoding="utf-8")), record["locator"])
    if record["format"] == "ctgov_v2":
        trial = Trial.from_api(doc)
    else:
        elig = doc.get("eligibility", doc) if record["format"] == "jm_study" else doc

        def years(value: Any) -> str:
            return "" if value is None else f"{value:g} Years"

        trial = Trial(
            nct_id=record["nct_id"], title=clean_line(doc.get("brief_title") or ""),
            official_title=clean_line(doc.get("official_title") or ""),
            conditions=tuple(clean_line(c) for c in doc.get("conditions") or ()),
            min_age=years(elig.get("min_age_years")), max_age=years(elig.get("max_age_years")),
            sex=(elig.get("sex") or "").upper(),
            healthy_volunteers=elig.get("healthy_volunteers") if isinstance(elig.get("healthy_volunteers"), bool) else None,
            eligibility_criteria=clean_text(elig.get("criteria_text") or "").strip(),
        )
    if record.get("conditions"):
        from dataclasses import replace

        trial = replace(trial, conditions=tuple(record["conditions"]))
    return trial


def evaluate(root: Path = ROOT) -> dict[str, Any]:
    """Score the pre-screen against every label; the figures and the disagreements."""
    from trialfinder.eligibility import EXCLUDED, assess, profile_from_mapping

    data = root / "fixtures" / "eligibility"
    records = {r["nct_id"]: r for r in json.loads((data / "records.json").read_text(encoding="utf-8"))}
    labels = json.loads((data / "labels.json").read_text(encoding="utf-8"))
    with open(data / "profiles.toml", "rb") as fh:
        profiles = {name: profile_from_mapping(raw, where=name) for name, raw in tomllib.load(fh)["profiles"].items()}
    trials = {nct: load_trial(r, root) for nct, r in records.items()}
    counts = {"labels": len(labels), "excluded": 0, "not_excluded": 0, "false_exclusions": 0,
              "found": 0, "core": 0, "core_found": 0}
    verdicts = {"excluded": 0, "unclear": 0, "no_conflict": 0}
    ms = {"excluded": 0, "found": 0, "not_excluded": 0, "false_exclusions": 0}  # MS trials only
    errors = []
    for label in labels:
        assessment = assess(trials[label["nct_id"]], profiles[label["profile"]])
        verdicts[assessment.verdict] += 1
        said = assessment.verdict == EXCLUDED
        if records[label["nct_id"]].get("ms_trial"):
            if label["expected"] == "excluded":
                ms["excluded"] += 1
                ms["found"] += said
            else:
                ms["not_excluded"] += 1
                ms["false_exclusions"] += said
        if label["expected"] == "excluded":
            counts["excluded"] += 1
            core = bool(CORE & set(label["decided_by"]))
            counts["core"] += core
            counts["found"] += said
            counts["core_found"] += said and core
            if not said:
                errors.append(("missed", label, assessment))
        else:
            counts["not_excluded"] += 1
            counts["false_exclusions"] += said
            if said:
                errors.append(("false exclusion", label, assessment))
    figures = {
        "false_exclusion_rate": counts["false_exclusions"] / max(counts["not_excluded"], 1),
        "core_recall": counts["core_found"] / max(counts["core"], 1),
        "recall": counts["found"] / max(counts["excluded"], 1),
        "counts": counts,
        "verdicts": verdicts,
        "ms_trials": ms,
        "records": len(records),
        "profiles": len(profiles),
    }
    figures["meets_targets"] = (figures["false_exclusion_rate"] < TARGETS["false_exclusion_rate"]
                                and figures["core_recall"] >= TARGETS["core_recall"]
                                and figures["recall"] >= TARGETS["recall"])
    figures["errors"] = [
        {"kind": kind, "nct_id": lab["nct_id"], "profile": lab["profile"], "label_note": lab["note"],
         "decided_by": lab["decided_by"], "verdict": a.verdict,
         "why": [r.why for r in (a.excluding if kind == "false exclusion" else a.to_ask)][:3]}
        for kind, lab, a in errors
    ]
    return figures


def table(f: dict[str, Any]) -> str:
    c = f["counts"]
    return "\n".join([
        f"Eligibility pre-screen against {c['labels']} labelled pairs "
        f"({f['records']} real records x {f['profiles']} profiles)",
        "",
        "| Measure | Result | Target |",
        "|---|---|---|",
        f"| False-exclusion rate | {f['false_exclusion_rate']:.1%} ({c['false_exclusions']} of {c['not_excluded']} not excluded) | < 1% |",
        f"| Recall, exclusions decided by age, sex, MS type or EDSS | {f['core_recall']:.1%} ({c['core_found']} of {c['core']}) | ≥ 90% |",
        f"| Recall, all exclusions | {f['recall']:.1%} ({c['found']} of {c['excluded']}) | ≥ 75% |",
        "",
        f"MS trials only: {f['ms_trials']['false_exclusions']} false exclusions of "
        f"{f['ms_trials']['not_excluded']} not excluded; recall {f['ms_trials']['found']} of "
        f"{f['ms_trials']['excluded']} exclusions.",
        "Verdicts: " + ", ".join(f"{k} {v}" for k, v in f["verdicts"].items())
        + f". Targets met: {'yes' if f['meets_targets'] else 'NO'}.",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--errors", action="store_true", help="also list every disagreement")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root holding fixtures/eligibility")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    figures = evaluate(args.root)
    if args.json:
        shown = figures if args.errors else {k: v for k, v in figures.items() if k != "errors"}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    else:
        print(table(figures))
        if args.errors:
            for e in figures["errors"]:
                print(f"- {e['kind']}: {e['nct_id']} x {e['profile']} ({', '.join(e['decided_by'])}): "
                      f"label: {e['label_note']} | pre-screen: {e['verdict']}: {'; '.join(e['why'])}")
    return 0 if figures["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
