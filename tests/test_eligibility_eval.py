"""The labelled evaluation set (fixtures/eligibility/) against the issue 7 targets: a regression fails CI."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .conftest import skip_unless_ci

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "fixtures" / "eligibility" / "labels.json"


def load_eval():
    spec = importlib.util.spec_from_file_location("eligibility_eval", ROOT / "benchmarks" / "eligibility_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eval_meets_the_targets():
    if not DATA.exists():  # a skip on a developer's partial checkout; a failure under CI
        skip_unless_ci("the labelled set (fixtures/eligibility) is not in this checkout")
    figures = load_eval().evaluate(ROOT)
    assert figures["counts"]["labels"] >= 100
    assert figures["false_exclusion_rate"] < 0.01, figures["errors"]
    assert figures["core_recall"] >= 0.90, figures["errors"]
    assert figures["recall"] >= 0.75, figures["errors"]
