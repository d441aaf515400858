"""Splitting eligibilityCriteria into inclusion and exclusion items, on the registry's layouts."""

from __future__ import annotations

from trialfinder.eligibility import split_criteria

from .conftest import load_fixture


def sections(text):
    return [(i.section, i.text) for i in split_criteria(text)]


def test_bullets_under_headers():
    perseus = load_fixture("constructed/study_NCT04458051.json")
    items = split_criteria(perseus["protocolSection"]["eligibilityModule"]["eligibilityCriteria"])
    inclusion = [i.text for i in items if i.section == "inclusion"]
    exclusion = [i.text for i in items if i.section == "exclusion"]
    assert len(inclusion) == 6 and len(exclusion) == 7
    assert inclusion[1].startswith("Diagnosis of primary progressive multiple sclerosis")
    assert exclusion[0] == "Diagnosis of relapsing multiple sclerosis or secondary progressive multiple sclerosis."


def test_numbered_key_criteria_and_commonmark_escapes():
    text = ("Key Inclusion Criteria:\n\n1\\. Age 18 to 55 years\n2\\. EDSS \\< 6.0\n\n"
            "Key Exclusion Criteria:\n\n1\\. Pregnancy\n")
    assert sections(text) == [("inclusion", "Age 18 to 55 years"), ("inclusion", "EDSS < 6.0"),
                              ("exclusion", "Pregnancy")]


def test_no_headers_is_unknown_section():
    assert sections("Adults with MS\n\nEDSS below 7") == [("unknown", "Adults with MS"), ("unknown", "EDSS below 7")]


def test_alternatives_stay_inside_their_lead_in():
    # NCT06408259 (fixtures/real search_ms_portland): i) ii) iii) are alternatives, and the
    # escaped "\- Has an EDSS" after them is a criterion of its own again.
    page = load_fixture("real/Ledgeworth-Studios_UnivabioComp__search_ms_portland.json")
    study = next(s for s in page["studies"]
                 if s["protocolSection"]["identificationModule"]["nctId"] == "NCT06408259")
    items = split_criteria(study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"])
    lead = next(i for i in items if i.text.startswith("Meets at least 1"))
    assert lead.any_of and "gadolinium" in lead.text and "2 MS relapses" in lead.text
    edss = next(i for i in items if "EDSS" in i.text)
    assert not edss.any_of and edss.section == "inclusion"


def test_nested_bullets_with_inline_header_text():
    text = "Inclusion Criteria: Adults aged 18-60\n\nExclusion criteria:\n- Any of the following:\n  - HIV\n  - Hepatitis B\n- Pregnancy"
    items = split_criteria(text)
    assert items[0].section == "inclusion" and items[0].text == "Adults aged 18-60"
    assert items[1].section == "exclusion" and items[1].any_of and "HIV" in items[1].text
    assert items[-1].text == "Pregnancy"


def test_empty_and_whitespace():
    assert split_criteria("") == [] and split_criteria(" \n\n * \n") == []
