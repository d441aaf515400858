"""Each extractor on real registry phrasings, and on the traps named in issue 7."""

from __future__ import annotations

import pytest

from trialfinder.eligibility import Bound, read_facts, split_criteria
from trialfinder.eligibility.extract import ages, edss, ms_types
from trialfinder.eligibility.facts import parse_bound
from trialfinder.eligibility.history import durations, relapses, therapies, window_months


def items(inclusion=(), exclusion=()):
    text = "Inclusion Criteria:\n\n" + "".join(f"* {i}\n" for i in inclusion)
    text += "\nExclusion Criteria:\n\n" + "".join(f"* {e}\n" for e in exclusion)
    return split_criteria(text)


@pytest.mark.parametrize("clause, bound", [
    ("score from 3.0 to 6.5 points, inclusive", Bound(3.0, 6.5)),
    ("3.0-6.5", Bound(3.0, 6.5)),
    ("between 2.0 and 6.5 inclusive", Bound(2.0, 6.5)),
    ("≤ 5.5 at screening", Bound(None, 5.5)),
    ("< 6.0", Bound(None, 6.0, high_strict=True)),
    ("> 5.5", Bound(5.5, None, low_strict=True)),
    ("score of 6.5 or less", Bound(None, 6.5)),
    ("of at least 2.0 and no more than 6.5", Bound(2.0, 6.5)),
    ("score of 0 to 5.5, both inclusive", Bound(0.0, 5.5)),
])
def test_bounds(clause, bound):
    found, plain = parse_bound(clause, 0, 10)
    assert found == bound and plain


def test_bound_with_or_between_limits_is_not_plain():
    assert parse_bound("≤ 2.0 or ≥ 6.0", 0, 10)[1] is False
    assert parse_bound("of 12 to 55", 0, 10) == (None, False)  # not an EDSS number


def test_ms_type_traps():
    facts = ms_types(items(["Diagnosis of nonrelapsing secondary progressive multiple sclerosis"]))
    assert (facts[0].data["rule"], facts[0].data["types"]) == ("admitted", {"nrspms"})  # not "relapsing"
    facts = ms_types(items(["Diagnosis of active SPMS"]))
    assert facts[0].data["types"] == {"aspms"}  # "active SPMS" is narrower than SPMS
    facts = ms_types(items(["Diagnosis of SPMS"]))
    assert facts[0].data["types"] == {"aspms", "nrspms"}
    facts = ms_types(items(["Diagnosis of MS"], ["Diagnosis of primary progressive MS according to the 2017 McDonald criteria."]))
    assert [(f.data["rule"], f.data["types"], f.confident) for f in facts] == [
        ("admitted", {"rrms", "aspms", "nrspms", "ppms"}, True),  # MS, so not CIS
        ("excluded", {"ppms"}, True)]
    facts = ms_types(items(["Diagnosis of MS or clinically isolated syndrome"]))
    assert facts[0].data["types"] == {"rrms", "aspms", "nrspms", "ppms", "cis"}
    facts = ms_types(items([], ["Diagnosis of nonrelapsing secondary progressive multiplesclerosis (SPMS)"]))
    assert facts[0].data["types"] == {"nrspms"}  # the acronym in brackets is the same mention
    facts = ms_types(items(["Diagnosis of relapsing forms of multiple sclerosis (RMS)"]))
    assert facts[0].data["types"] == {"rrms", "aspms", "cis"}


def test_ms_type_conditions_and_negations_are_not_confident():
    facts = ms_types(items(["Participants with SPMS must have an EDSS of 3.0 to 6.5"]))
    assert not facts[0].confident
    facts = ms_types(items(["Patients with atypical form of MS", "OR patients with RRMS"]))
    assert facts[0].data["types"] == {"rrms"} and not facts[0].confident  # "atypical form": undefined
    facts = ms_types(items(["No diagnosis of PPMS"]))
    assert facts[0].data["rule"] == "excluded" and not facts[0].confident
    facts = ms_types(items([], ["Participants with SPMS who have had a relapse in the last 2 years"]))
    assert not facts[0].confident  # the clause after the type narrows it


def test_edss_in_an_exclusion_list_is_the_excluded_range():
    facts = edss(items(["EDSS ≤ 5.5 at screening"], ["EDSS > 5.5"]))
    assert [(f.section, f.data["range"]) for f in facts] == [
        ("inclusion", Bound(None, 5.5)), ("exclusion", Bound(5.5, None, low_strict=True))]
    assert all(f.confident for f in facts)


def test_edss_either_side_in_an_exclusion():
    facts = edss(items([], ["EDSS score < 2.0 or > 6.5 at screening"]))
    assert [f.data["range"] for f in facts] == [Bound(None, 2.0, high_strict=True), Bound(6.5, None, low_strict=True)]
    assert all(f.confident for f in facts)


def test_edss_aside_in_nested_brackets_keeps_the_bound_confident():
    facts = edss(items(["EDSS 0 - 5.5 (Functional system changes in cerebral (or mental) functions not used in "
                        "determining EDSS for protocol eligibility)."]))
    assert facts[0].data["range"] == Bound(0, 5.5) and facts[0].confident


def test_edss_progression_is_not_a_bound():
    facts = edss(items(["Documented EDSS progression of at least 1.0 point in the previous 2 years"]))
    assert all(not f.confident for f in facts)
    assert edss(items(["Disease duration of more than 10 years (EDSS below 5.0 at screening)"])) == []


def test_age_structured_first_then_text():
    facts = ages("18 Years", "55 Years", items(["Age 18 to 60 years, inclusive"]))
    assert [(f.source, f.data["range"]) for f in facts] == [
        ("minimumAge", Bound(18, None)), ("maximumAge", Bound(None, 55)), ("criteria", Bound(18, 60))]
    assert ages("6 Months", "", []) [0].data["range"].low == 0.5
    assert ages("", "", items(["Age at onset of symptoms ≤ 50 years"])) == []  # not the current age


def test_disease_duration_with_a_condition():
    facts = durations(items([], ["Disease duration of more than 15 years from the onset of neurological symptoms "
                                 "(EDSS 5.0 or above at screening) or more than 10 years (EDSS below 5.0 at screening)."]))
    assert facts[0].data["clock"] == "onset" and facts[0].data["conditional"] and not facts[0].confident
    facts = durations(items(["Disease duration ≤ 10 years since diagnosis"]))
    assert facts[0].data["range"] == Bound(None, 10) and facts[0].data["clock"] == "diagnosis" and facts[0].confident
    facts = durations(items(["< 10 years disease duration if EDSS > 5.0"]))
    assert not facts[0].confident


def test_relapse_windows_and_alternatives():
    assert window_months("in the previous 2 years") == 24
    assert window_months("within 30 days prior to screening") == pytest.approx(0.99, abs=0.01)
    assert window_months("in the previous year") == 12
    free = relapses(items(["Absence of clinical relapses for at least 24 months"]))
    assert free[0].kind == "relapse_free" and free[0].data["months"] == 24 and free[0].confident
    alt = relapses(items(["≥1 relapse in 12 months OR ≥2 in 24 months OR a Gd+ lesion on MRI"]))
    assert alt[0].kind == "relapse_required" and alt[0].data["alternatives"] and not alt[0].confident
    required = relapses(items(["At least 2 relapses in the previous 2 years"]))
    assert required[0].data == {"months": 24, "count": 2, "alternatives": False} and required[0].confident
    excl = relapses(items([], ["Onset of a relapse within 30 days prior to randomization"]))
    assert excl[0].kind == "relapse_free" and excl[0].section == "exclusion"


def test_therapy_rules():
    washout = therapies(items(["No treatment with ocrelizumab in the 12 months prior to screening"]))
    assert washout[0].data == {"rule": "excluded", "when": "washout", "drugs": ["ocrelizumab"], "months": 12}
    ever = therapies(items([], ["Prior treatment with any BTK inhibitor"]))
    assert ever[0].data["when"] == "ever" and "tolebrutinib" in ever[0].data["drugs"]
    current = therapies(items([], ["Currently receiving natalizumab (Tysabri)"]))
    assert current[0].data["when"] == "current" and current[0].data["drugs"] == ["natalizumab"]
    cls = therapies(items([], ["Receipt of anti-CD20 therapy within the protocol-defined washout period."]))
    assert set(cls[0].data["drugs"]) == {"ocrelizumab", "ofatumumab", "ublituximab", "rituximab"}
    assert therapies(items([], ["History of hypersensitivity to rituximab"])) == []
    assert therapies(items([], ["Positive interferon-gamma release assay at screening"])) == []
    brand = therapies(items([], ["Prior treatment with Lemtrada at any time"]))
    assert brand[0].data["drugs"] == ["alemtuzumab"] and brand[0].data["when"] == "ever"


def test_pregnancy_and_requirements():
    facts = read_facts("Inclusion Criteria:\n* Living in the US\n* MRI with at least one Gd+ lesion\n"
                       "Exclusion Criteria:\n* Pregnant or breastfeeding women\n")
    kinds = [(f.kind, f.data.get("topic")) for f in facts]
    assert ("pregnancy", None) in kinds and ("breastfeeding", None) in kinds
    assert ("requirement", "place") in kinds and ("requirement", "mri") in kinds
