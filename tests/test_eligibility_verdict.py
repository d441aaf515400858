"""Verdicts: conservative, quoted, and never an exception whatever the text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialfinder.eligibility import EXCLUDED, NO_CONFLICT, UNCLEAR, Profile, Treatment, assess
from trialfinder.eligibility.render import checklist, fit_label, summary
from trialfinder.models import Trial

from .conftest import load_fixture

PERSEUS = load_fixture("constructed/study_NCT04458051.json")  # PPMS, EDSS 3.0-6.5, ages 18-55
SMOLDERING = Profile(age=45, sex="male", ms_type="nrspms", edss=6.0, years_since_onset=15,
                     years_since_diagnosis=14, months_since_relapse=60,
                     treatments=(Treatment("ocrelizumab", current=True, months_on=36),))


def trial(criteria, min_age="", max_age="", sex="ALL"):
    return Trial("NCT00000001", eligibility_criteria=criteria, min_age=min_age, max_age=max_age, sex=sex)


def test_perseus_rules_out_non_active_spms_quoting_the_registry():
    a = assess(PERSEUS, SMOLDERING)
    assert a.verdict == EXCLUDED
    reason = a.excluding[0]
    assert reason.text.startswith("Diagnosis of primary progressive multiple sclerosis (PPMS)")
    assert reason.source == "criteria" and "PPMS" in reason.why
    assert fit_label(a) == "✗ PPMS only"


def test_perseus_fits_ppms_so_far_but_asks():
    a = assess(PERSEUS, Profile(age=45, ms_type="ppms", edss=6.0))
    assert a.verdict == UNCLEAR  # oligoclonal bands, pyramidal score: for the study team
    assert {r.kind for r in a.to_ask} >= {"requirement"}
    assert fit_label(a) == f"? {len(a.to_ask)} to ask"


def test_structured_age_and_sex_exclude():
    assert assess(PERSEUS, Profile(age=56)).excluding[0].source == "maximumAge"
    assert assess(PERSEUS, Profile(age=55)).verdict != EXCLUDED  # the limit is inclusive
    female_only = trial("", sex="FEMALE")
    assert assess(female_only, Profile(sex="male")).verdict == EXCLUDED
    assert assess(female_only, Profile(sex="female")).verdict == UNCLEAR  # no criteria text to read


def test_text_age_contradicting_the_structured_fields_is_unclear():
    t = trial("Inclusion Criteria:\n* Age 18 to 50 years\n", max_age="65 Years")
    a = assess(t, Profile(age=60))
    assert a.verdict == UNCLEAR and "age fields allow it" in a.to_ask[0].why
    assert assess(t, Profile(age=70)).verdict == EXCLUDED


def test_edss_exclusion_inverse_and_label():
    t = trial("Inclusion Criteria:\n* Informed consent\nExclusion Criteria:\n* EDSS > 5.5 at screening\n")
    a = assess(t, Profile(edss=6.0))
    assert a.verdict == EXCLUDED and fit_label(a) == "✗ EDSS ≤ 5.5"
    assert assess(t, Profile(edss=5.5)).verdict == NO_CONFLICT


def test_uncertain_readings_never_exclude():
    t = trial("Inclusion Criteria:\n* Participants with SPMS must have an EDSS of 3.0 to 5.5\n")
    assert assess(t, Profile(ms_type="ppms", edss=7.0)).verdict == UNCLEAR
    no_headers = trial("Diagnosis of PPMS\nEDSS 3.0 to 6.5")
    assert assess(no_headers, Profile(ms_type="rrms", edss=8.0)).verdict == UNCLEAR


def test_a_washout_the_person_is_inside_of_is_unclear():
    t = trial("Exclusion Criteria:\n* Treatment with ocrelizumab within 12 months prior to screening\n")
    assert assess(t, SMOLDERING).verdict == UNCLEAR
    recently = Profile(treatments=(Treatment("Ocrevus", months_since_stopped=6),))
    assert assess(t, recently).verdict == UNCLEAR  # 6 of the 12 months: could wait
    stopped = Profile(treatments=(Treatment("Ocrevus", months_since_stopped=24),))
    assert assess(t, stopped).verdict == NO_CONFLICT
    ever = trial("Exclusion Criteria:\n* Prior treatment with ocrelizumab or ofatumumab\n")
    assert assess(ever, stopped).verdict == EXCLUDED  # "Ocrevus" is ocrelizumab
    assert assess(ever, Profile(treatments=(Treatment("anti-CD20"),))).verdict == UNCLEAR  # which one?


def test_unstated_exclusions_are_assumed_absent_and_unstated_inclusions_asked():
    t = trial("Inclusion Criteria:\n* EDSS 2.0 to 6.5\nExclusion Criteria:\n* History of cancer\n* Pregnancy\n")
    a = assess(t, Profile())
    assert a.verdict == UNCLEAR and a.to_ask[0].question.startswith("What is your latest EDSS")
    assert assess(trial("", min_age="18 Years"), Profile()).to_ask[0].question == "Is your age within this limit?"
    assert assess(t, Profile(edss=4.0)).verdict == NO_CONFLICT
    assert assess(t, Profile(edss=4.0, pregnant=True)).verdict == EXCLUDED


def test_a_trial_requiring_another_disease_excludes_a_person_with_ms():
    t = Trial("NCT00000002", conditions=("Peripheral Artery Disease",),
              eligibility_criteria="Inclusion Criteria:\n* Peripheral artery disease with claudication\n")
    a = assess(t, Profile(ms_type="rrms"))
    assert a.verdict == EXCLUDED and a.excluding[0].label == "not an MS trial"
    assert assess(t, Profile(age=40)).verdict == NO_CONFLICT  # no MS stated: nothing to compare
    healthy = Trial("NCT00000003", conditions=("Peripheral Artery Disease",), healthy_volunteers=True,
                    eligibility_criteria=t.eligibility_criteria)
    assert assess(healthy, Profile(ms_type="rrms")).verdict == NO_CONFLICT


def test_required_therapy_against_a_listed_history():
    t = trial("Inclusion Criteria:\n* Has had a minimum of 12 months of continuous natalizumab therapy\n")
    assert assess(t, Profile(treatments=(Treatment("Tysabri", current=True, months_on=24),))).verdict == NO_CONFLICT
    assert assess(t, Profile(treatments=(Treatment("Tysabri", current=True, months_on=6),))).verdict == UNCLEAR
    assert assess(t, Profile(treatments=(Treatment("fingolimod", months_since_stopped=3),))).verdict == EXCLUDED
    assert assess(t, Profile()).verdict == UNCLEAR  # no treatments listed: ask


def test_relapse_requirements():
    needs = trial("Inclusion Criteria:\n* At least 1 relapse in the previous 12 months\n")
    assert assess(needs, Profile(months_since_relapse=60)).verdict == EXCLUDED
    assert assess(needs, Profile(months_since_relapse=3)).verdict == NO_CONFLICT
    assert assess(needs, Profile(never_relapsed=True)).verdict == EXCLUDED
    alternatives = trial("Inclusion Criteria:\n* ≥1 relapse in 12 months OR ≥2 in 24 months OR a Gd+ lesion\n")
    assert assess(alternatives, Profile(months_since_relapse=60)).verdict == UNCLEAR
    free = trial("Inclusion Criteria:\n* Absence of clinical relapses for at least 24 months\n")
    assert assess(free, SMOLDERING).verdict == NO_CONFLICT
    assert assess(free, Profile(months_since_relapse=6)).verdict == EXCLUDED


def test_contract_shape():
    data = assess(PERSEUS, SMOLDERING).as_dict()
    assert set(data) == {"verdict", "reasons", "facts"}
    assert all(set(r) == {"verdict", "source", "text", "why"} for r in data["reasons"])
    assert data["facts"]["edss"][0]["range"] == {"min": 3.0, "min_strict": False, "max": 6.5, "max_strict": False}


def test_checklist_and_summary_quote_the_registry():
    a = assess(PERSEUS, SMOLDERING)
    lines = "\n".join(checklist(a, SMOLDERING))
    assert "✗ PPMS only  [you: nrspms]" in lines
    assert "“Diagnosis of primary progressive multiple sclerosis (PPMS)" in lines
    assert "Ask: Would you and your neurologist consider stopping ocrelizumab" in lines
    assert "not a decision" in " ".join(lines.split())
    assert summary(a).startswith("does not fit your profile: the trial admits PPMS")


profiles = st.builds(
    Profile,
    age=st.none() | st.integers(0, 125),
    sex=st.none() | st.sampled_from(["female", "male"]),
    ms_type=st.none() | st.sampled_from(["rrms", "rms", "cis", "spms", "aspms", "nrspms", "ppms"]),
    edss=st.none() | st.integers(0, 20).map(lambda n: n / 2),
    years_since_onset=st.none() | st.floats(0, 80),
    years_since_diagnosis=st.none() | st.floats(0, 80),
    months_since_relapse=st.none() | st.floats(0, 500),
    pregnant=st.none() | st.booleans(),
    treatments=st.lists(st.builds(Treatment, st.sampled_from(["ocrelizumab", "anti-CD20", "Gilenya", "x"]),
                                  st.booleans(), st.none() | st.floats(0, 100), st.none() | st.floats(0, 100)),
                        max_size=2).map(tuple),
)
words = st.sampled_from([
    "Inclusion Criteria:", "Exclusion Criteria:", "* ", "1\\. ", "  - ", "EDSS", "≤", "<", ">", "\\<", "5.5",
    "3.0-6.5", "between", "and", "or", "to", "inclusive", "relapse", "within", "12 months", "years", "age",
    "PPMS", "non-relapsing", "secondary progressive", "active", "ocrelizumab", "Ocrevus", "anti-CD20", "no",
    "pregnant", "at least one of the following:", "i)", "if", "disease duration", "onset", "\n", "\n\n", ":",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.lists(words | st.text(max_size=12), max_size=60).map(" ".join), profile=profiles,
       min_age=st.sampled_from(["", "18 Years", "6 Months", "garbage"]), sex=st.sampled_from(["", "ALL", "MALE"]))
def test_any_text_gives_a_verdict(text, profile, min_age, sex):
    a = assess(trial(text, min_age=min_age, sex=sex), profile)
    assert a.verdict in (EXCLUDED, UNCLEAR, NO_CONFLICT)
    assert all(r.text for r in a.reasons)
    fit_label(a)
    summary(a)
    checklist(a, profile)


def test_a_record_without_criteria_text_is_unclear_not_a_fit():
    a = assess(trial("", min_age="18 Years", max_age="55 Years"), SMOLDERING)
    assert a.verdict == UNCLEAR
    assert any("no eligibility criteria text" in r.why for r in a.to_ask)
    assert assess(trial("  \n", min_age="60 Years"), SMOLDERING).verdict == EXCLUDED  # age still rules


def test_inclusion_not_treated_with_reads_as_now_unless_it_says_ever():
    on_it = Profile(treatments=(Treatment("ocrelizumab", current=True, months_on=36),))
    stopped = Profile(treatments=(Treatment("ocrelizumab", months_since_stopped=20),))
    loose = trial("Inclusion Criteria:\n* Not treated with ocrelizumab\n")
    assert assess(loose, on_it).verdict == UNCLEAR  # could stop: ask, never a silent "no"
    assert assess(loose, stopped).verdict == NO_CONFLICT
    for never in ("Never treated with ocrelizumab", "No prior treatment with ocrelizumab",
                  "Treatment-naive to ocrelizumab"):
        assert assess(trial(f"Inclusion Criteria:\n* {never}\n"), stopped).verdict == EXCLUDED, never
