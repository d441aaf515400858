"""One verdict per trial: excluded, unclear or no_conflict, each reason quoting its source.

Conservative on purpose: hiding a trial a person could join is the worst error.
Only a confident fact can exclude; a washout the person is inside of is unclear
(they could stop the drug); exclusion facts a profile does not state (other
illnesses, lab values) are assumed absent; an inclusion requirement it does not
state is unclear, with a question to ask the study team.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models import Trial
from . import extract, history
from .criteria import split_criteria
from .facts import Bound, Fact
from .profile import MS_TYPES, Profile

EXCLUDED, UNCLEAR, NO_CONFLICT = "excluded", "unclear", "no_conflict"
_RANK = {EXCLUDED: 0, UNCLEAR: 1, NO_CONFLICT: 2}
TOPIC_LABELS = {"mri": "MRI", "progression": "progression", "test": "test score", "place": "where you live",
                "csf": "CSF test"}
COURSE_NAMES = {"rrms": "RRMS", "cis": "CIS", "aspms": "active SPMS", "nrspms": "non-active SPMS", "ppms": "PPMS"}


@dataclass(frozen=True)
class Reason:
    """One criterion held against the profile."""

    verdict: str
    source: str
    text: str
    why: str
    label: str = ""  # short, for a table cell: "EDSS ≤ 5.5"
    question: str = ""  # for unclear: what to ask the study team
    kind: str = ""
    value: str = ""  # the person's value, for the checklist

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "source": self.source, "text": self.text, "why": self.why}


@dataclass
class Assessment:
    """The verdict on one trial for one profile, with every reason and fact."""

    verdict: str
    reasons: list[Reason]
    facts: list[Fact] = field(default_factory=list)
    checks: list[tuple[Fact, list[Reason]]] = field(default_factory=list)  # each fact with its reasons

    @property
    def to_ask(self) -> list[Reason]:
        """The unclear reasons, one per distinct question."""
        seen: set[str] = set()
        out = []
        for r in self.reasons:
            key = r.question or r.why
            if r.verdict == UNCLEAR and key not in seen:
                seen.add(key)
                out.append(r)
        return out

    @property
    def excluding(self) -> list[Reason]:
        return [r for r in self.reasons if r.verdict == EXCLUDED]

    def as_dict(self) -> dict[str, Any]:
        facts: dict[str, list[dict[str, Any]]] = {}
        for fact in self.facts:
            facts.setdefault(fact.kind, []).append(fact.as_dict())
        return {"verdict": self.verdict, "reasons": [r.as_dict() for r in self.reasons], "facts": facts}


def read_facts(criteria: str, min_age: str = "", max_age: str = "", sex: str = "",
               trial: Trial | None = None) -> list[Fact]:
    """Every fact the extractors read from a trial's eligibility fields (and its conditions)."""
    items = split_criteria(criteria)
    about = extract.condition(trial.conditions, (trial.title, trial.official_title), items,
                              trial.healthy_volunteers) if trial is not None else []
    facts = [*about, *extract.ages(min_age, max_age, items), *extract.sex(sex), *extract.ms_types(items),
             *extract.edss(items), *history.durations(items), *history.relapses(items),
             *history.therapies(items), *history.pregnancy(items)]
    read = {f.text for f in facts}
    return facts + history.topics(items, read)


def assess(trial: Trial | Mapping[str, Any], profile: Profile) -> Assessment:
    """The pre-screen of ``trial`` (a Trial or a raw v2 study record) for ``profile``."""
    if not isinstance(trial, Trial):
        trial = Trial.from_api(trial)
    facts = read_facts(trial.eligibility_criteria, trial.min_age, trial.max_age, trial.sex, trial)
    checks = [(fact, _judge(fact, profile, facts)) for fact in facts]
    found = [r for _, rs in checks for r in rs]
    if not trial.eligibility_criteria.strip():  # nothing to read is not "nothing conflicts"
        found.append(Reason(UNCLEAR, "criteria", "(no criteria text)", "the registry record has no eligibility criteria "
                            "text; only its age and sex fields were checked", "criteria?",
                            "What are the trial's inclusion and exclusion criteria?", "criteria"))
    reasons = sorted(found, key=lambda r: _RANK[r.verdict])
    verdict = min((r.verdict for r in reasons), key=_RANK.__getitem__, default=NO_CONFLICT)
    return Assessment(verdict, reasons, facts, checks)


def _reason(fact: Fact, verdict: str, why: str, label: str = "", question: str = "", value: str = "") -> Reason:
    if verdict == EXCLUDED and not fact.confident:
        verdict = UNCLEAR
        why += " (but this reading of the text is not certain)"
        question = question or "Does this rule you out?"
    return Reason(verdict, fact.source, fact.text, why, label, question, fact.kind, value)


def _judge(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    judge = _JUDGES.get(fact.kind)
    return judge(fact, p, facts) if judge else []


def _age(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    bound: Bound = fact.data["range"]
    if p.age is None:
        if fact.section == "structured":
            return [Reason(UNCLEAR, fact.source, fact.text, f"the trial's age limit is {fact.text}; "
                           "the profile gives no age", "age?", "Is your age within this limit?", "age")]
        return []
    # a whole-year age A means somewhere in [A, A + 1): out only if every part of that year is
    inside = bound.contains(p.age) or bound.contains(p.age + 0.999)
    label = f"age {bound}"
    if fact.section == "exclusion":
        if bound.contains(p.age) and bound.contains(p.age + 0.999):
            return [_reason(fact, EXCLUDED, f"age {p.age} falls in the excluded range {bound}", label,
                            value=str(p.age))]
        return [_reason(fact, NO_CONFLICT, f"age {p.age} is outside the excluded range {bound}", label,
                        value=str(p.age))]
    if inside:
        return [Reason(NO_CONFLICT, fact.source, fact.text, f"age {p.age} is within {bound} years", label,
                       kind="age", value=str(p.age))]
    why = f"age {p.age} is outside {bound} years"
    if fact.section == "structured":
        return [Reason(EXCLUDED, fact.source, fact.text, why, label, kind="age", value=str(p.age))]
    structured = [f for f in facts if f.kind == "age" and f.section == "structured"]
    if structured and all(f.data["range"].contains(p.age) for f in structured):
        return [Reason(UNCLEAR, fact.source, fact.text, why + ", although the registry's age fields allow it",
                       label, "Which age limit applies: the registry fields or the text?", "age", str(p.age))]
    return [_reason(fact, EXCLUDED, why, label, value=str(p.age))]


def _sex(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    wanted = fact.data["sex"]
    if p.sex is None:
        return [Reason(UNCLEAR, fact.source, fact.text, f"only {wanted} participants; the profile gives no sex",
                       f"{wanted} only", "", "sex")]
    verdict = NO_CONFLICT if p.sex == wanted else EXCLUDED
    return [Reason(verdict, fact.source, fact.text, f"the trial takes {wanted} participants only; profile: {p.sex}",
                   f"{wanted} only", kind="sex", value=p.sex)]


_GROUPS = [(frozenset({"rrms", "aspms", "cis"}), "relapsing MS"), (frozenset({"ppms", "aspms", "nrspms"}),
           "progressive MS"), (frozenset({"aspms", "nrspms"}), "SPMS")]


def _courses(types: frozenset[str]) -> str:
    """``{'rrms', 'aspms', 'cis'}`` -> ``'relapsing MS'``; other sets named course by course."""
    names, rest = [], set(types)
    for group, name in _GROUPS:
        if group <= rest:
            names.append(name)
            rest -= group
    names += [COURSE_NAMES[t] for t in sorted(rest, key=list(COURSE_NAMES).index)]
    return ", ".join(names)


def _ms_type(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    types: frozenset[str] = fact.data["types"]
    admitted = fact.data["rule"] == "admitted"
    label = f"{_courses(types)} only" if admitted else f"no {_courses(types)}"
    if not p.ms_type:
        if not admitted:
            return []
        return [Reason(UNCLEAR, fact.source, fact.text, f"the trial is for {_courses(types)}; the profile gives "
                       "no MS type", "MS type?", "Which type of MS do you have? Ask your neurologist if unsure.",
                       "ms_type")]
    mine, name = p.courses, MS_TYPES[p.ms_type]
    overlap = mine & types
    said = p.ms_type in fact.data.get("categories", ())  # the trial uses the person's own word
    if admitted:
        if mine <= types or said:
            return [_reason(fact, NO_CONFLICT, f"{name} is among the types admitted ({_courses(types)})",
                            label, value=p.ms_type)]
        if not overlap:
            return [_reason(fact, EXCLUDED, f"the trial admits {_courses(types)}, not {name}", label,
                            value=p.ms_type)]
        return [_reason(fact, UNCLEAR, f"the trial admits {_courses(types)}; {name} may or may not count",
                        label, f"Does your {name} count as {_courses(overlap)}? Ask your neurologist.",
                        p.ms_type)]
    if not overlap:
        return [_reason(fact, NO_CONFLICT, f"{name} is not among the excluded types ({_courses(types)})",
                        label, value=p.ms_type)]
    also_admitted = {t for f in facts if f.kind == "ms_type" and f.data["rule"] == "admitted"
                     for t in f.data.get("named", ())} & overlap
    if also_admitted and mine <= types and not said:
        return [_reason(fact, UNCLEAR, f"the criteria both admit and exclude {_courses(frozenset(also_admitted))}",
                        label, f"Does your {name} count as admitted or excluded here?", p.ms_type)]
    if mine <= types or said:
        return [_reason(fact, EXCLUDED, f"{name} is excluded", label, value=p.ms_type)]
    return [_reason(fact, UNCLEAR, f"{_courses(overlap)} is excluded; {name} may be that",
                    label, f"Does your {name} count as {_courses(overlap)}?", p.ms_type)]


def _edss(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    bound: Bound = fact.data["range"]
    exclusion = fact.section == "exclusion"
    label = f"EDSS {_inverse(bound) if exclusion else bound}"
    if p.edss is None:
        if exclusion:
            return []
        return [Reason(UNCLEAR, fact.source, fact.text, f"the trial needs an EDSS of {bound}; the profile gives none",
                       "EDSS?", "What is your latest EDSS score? Ask your neurologist.", "edss")]
    inside = bound.contains(p.edss)
    value = f"{p.edss:.1f}"
    if inside != exclusion:
        return [_reason(fact, NO_CONFLICT, f"EDSS {value} fits {label.removeprefix('EDSS ')}", label, value=value)]
    why = (f"EDSS {value} is in the excluded range {bound}" if exclusion
           else f"EDSS {value} is outside the {bound} allowed")
    return [_reason(fact, EXCLUDED, why, label, value=value)]


def _inverse(bound: Bound) -> str:
    if bound.low is not None and bound.high is None:
        return f"{'≤' if bound.low_strict else '<'} {bound.low:g}"
    if bound.high is not None and bound.low is None:
        return f"{'≥' if bound.high_strict else '>'} {bound.high:g}"
    return f"not {bound}"


def _duration(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    bound: Bound = fact.data["range"]
    clock = fact.data["clock"]
    onset, diagnosis = p.years_since_onset, p.years_since_diagnosis
    # Onset comes before diagnosis: its years are the larger. "Either" clock: rule out only
    # when the reading most in the person's favour rules out.
    if clock == "onset":
        values = [onset] if onset is not None else []
    elif clock == "diagnosis":
        values = [diagnosis] if diagnosis is not None else []
    else:
        values = [v for v in (onset, diagnosis) if v is not None]
    exclusion = fact.section == "exclusion"
    if not values:
        if exclusion:
            return []
        return [Reason(UNCLEAR, fact.source, fact.text, f"the trial limits disease duration to {bound} years; "
                       "the profile does not say how long", "duration?",
                       "How many years since your first symptoms and since diagnosis?", "duration")]
    fits = [bound.contains(v) != exclusion for v in values]
    if clock == "either" and len(values) == 1:
        lone = values[0]
        # only one clock known: the other lies on one side of it
        if (diagnosis is not None and bound.high is not None and not exclusion and lone <= bound.high) or \
                (onset is not None and bound.low is not None and not exclusion and lone >= bound.low):
            fits = [True]
        elif not all(fits) and not any(fits):
            fits = [False] if (diagnosis is not None and bound.high is not None) or \
                (onset is not None and bound.low is not None) else [True, False]
    value = ", ".join(f"{v:g} years" for v in values)
    label = f"duration {bound} y"
    if all(fits):
        return [_reason(fact, NO_CONFLICT, f"disease duration {value} fits {bound} years", label, value=value)]
    if any(fits) or fact.data.get("conditional"):
        return [Reason(UNCLEAR, fact.source, fact.text, f"disease duration {value} may not fit {bound} years",
                       label, "Which disease-duration limit applies to you?", "duration", value)]
    return [_reason(fact, EXCLUDED, f"disease duration {value} does not fit {bound} years", label, value=value)]


def _relapse_free(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    window = fact.data["months"]
    since = p.relapse_months
    label = f"no relapse in {window:g} mo"
    if since is None:
        if fact.section == "exclusion":
            return []
        return [Reason(UNCLEAR, fact.source, fact.text, f"needs no relapse for {window:g} months; the profile "
                       "does not say", "relapse?", "When was your last relapse?", "relapse")]
    value = "never" if math.isinf(since) else f"{since:g} months ago"
    if since >= window + 1:
        return [_reason(fact, NO_CONFLICT, f"last relapse {value}; needs none in {window:g} months", label,
                        value=value)]
    if since >= window - 1 or window <= 6:  # a short relapse-free window is a wait, not a "no"
        return [Reason(UNCLEAR, fact.source, fact.text, f"last relapse {value}; needs none in {window:g} months "
                       "(you may qualify once the period has passed)", label,
                       "When would you qualify after your last relapse?", "relapse", value)]
    return [_reason(fact, EXCLUDED, f"last relapse {value}, inside the {window:g}-month relapse-free period",
                    label, value=value)]


def _relapse_required(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    window, count = fact.data["months"], fact.data["count"]
    since = p.relapse_months
    label = f"{count} relapse{'s' if count > 1 else ''} in {window:g} mo"
    if since is None:
        return [Reason(UNCLEAR, fact.source, fact.text, f"asks for {label.replace('mo', 'months')}; the profile "
                       "does not say", "relapses?", "How many relapses have you had, and when?", "relapse")]
    value = "never" if math.isinf(since) else f"{since:g} months ago"
    if since <= window - 1:
        if count > 1:
            return [Reason(UNCLEAR, fact.source, fact.text, f"last relapse {value}; asks for {count} in "
                           f"{window:g} months", label, f"Have you had {count} relapses in {window:g} months?",
                           "relapse", value)]
        return [_reason(fact, NO_CONFLICT, f"last relapse {value}, within {window:g} months", label, value=value)]
    if since <= window + 1:
        return [Reason(UNCLEAR, fact.source, fact.text, f"last relapse {value}, at the edge of {window:g} months",
                       label, "Does your last relapse fall inside the window?", "relapse", value)]
    return [_reason(fact, EXCLUDED, f"last relapse {value}; the trial asks for one within {window:g} months",
                    label, "Can MRI activity count instead?" if fact.data.get("alternatives") else "",
                    value)]


def _therapy(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    drugs = set(fact.data["drugs"])
    rule, when, window = fact.data["rule"], fact.data["when"], fact.data["months"]
    names = ", ".join(fact.data["drugs"][:4]) + ("…" if len(drugs) > 4 else "")
    mine = [t for t in p.treatments if drugs & set(t.inns)]
    if rule == "required":
        if mine:
            t = next((t for t in mine if t.current), mine[0])
            need = window or 0
            if t.current and (t.months_on is None or t.months_on >= need):
                return [_reason(fact, NO_CONFLICT, f"you take {t.drug}, as required", f"on {names}", value=t.drug)]
            return [Reason(UNCLEAR, fact.source, fact.text, f"asks for treatment with {names}; you "
                           f"{'take' if t.current else 'took'} {t.drug}", f"{names}?",
                           f"Does your treatment with {t.drug} meet this?", "therapy", t.drug)]
        if p.treatments:  # the profile lists the person's therapies: none of these is among them
            listed = ", ".join(t.drug for t in p.treatments)
            return [_reason(fact, EXCLUDED, f"asks for treatment with {names}; your treatments ({listed}) "
                            "include none of them", f"needs {names}", value=listed)]
        return [Reason(UNCLEAR, fact.source, fact.text, f"asks for treatment with {names}; the profile lists no "
                       "treatments", f"{names}?", f"Have you been treated with {names}?", "therapy")]
    out = []
    for t in mine:
        exact = set(t.inns) <= drugs  # a class named in the profile may be another member
        value = t.drug + (" (current)" if t.current else f" (stopped {t.months_since_stopped:g} months ago)"
                          if t.months_since_stopped is not None else " (past)")
        label = f"no {t.drug}" if when != "washout" else f"{t.drug} washout"
        if when == "ever":
            verdict = EXCLUDED if exact else UNCLEAR
            out.append(_reason(fact, verdict, f"you have taken {t.drug}; the trial excludes prior use of it",
                               label, "" if exact else f"Which drug exactly did you take ({t.drug})?", value))
        elif t.current:
            out.append(Reason(UNCLEAR, fact.source, fact.text, f"you take {t.drug} now; the trial needs you off it"
                              + (f" for {window:g} months" if window else ""), label,
                              f"Would you and your neurologist consider stopping {t.drug}, and how long before "
                              "you could join?", "therapy", value))
        elif when == "washout" and (window is None or t.months_since_stopped is None
                                    or t.months_since_stopped < window):
            out.append(Reason(UNCLEAR, fact.source, fact.text, f"you stopped {t.drug} "
                              + (f"{t.months_since_stopped:g} months ago" if t.months_since_stopped is not None
                                 else "at a time not given") + (f"; the trial needs {window:g} months off it"
                                                                if window else "; the washout is not stated"),
                              label, "When would you be past the washout?", "therapy", value))
        else:
            out.append(_reason(fact, NO_CONFLICT, f"{t.drug}: {value.split('(')[-1].rstrip(')')}, outside "
                               "this rule", label, value=value))
    return out


def _pregnancy(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    state = p.pregnant if fact.kind == "pregnancy" else p.breastfeeding
    word = "pregnant" if fact.kind == "pregnancy" else "breastfeeding"
    if state:
        return [_reason(fact, EXCLUDED, f"the trial excludes people who are {word}", f"not {word}", value="yes")]
    return []


def _condition(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    if not p.ms_type:
        return []
    studied = "; ".join(fact.data["conditions"])
    return [_reason(fact, EXCLUDED, f"the trial requires {studied}, not MS; other illnesses are assumed absent",
                    "not an MS trial", value=p.ms_type)]


def _requirement(fact: Fact, p: Profile, facts: list[Fact]) -> list[Reason]:
    topic = fact.data["topic"]
    return [Reason(UNCLEAR, fact.source, fact.text, f"an inclusion requirement ({topic}) the profile cannot state",
                   f"{TOPIC_LABELS.get(topic, topic)}?", fact.data["question"], "requirement")]


_JUDGES = {
    "age": _age, "sex": _sex, "ms_type": _ms_type, "edss": _edss, "duration": _duration,
    "relapse_free": _relapse_free, "relapse_required": _relapse_required, "therapy": _therapy,
    "pregnancy": _pregnancy, "breastfeeding": _pregnancy, "requirement": _requirement, "condition": _condition,
}
