"""Facts about a person's history: disease duration, relapses, therapies, pregnancy,
and the inclusion requirements only the study team can check (MRI, test scores, place)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from ..drugclasses import _pattern, drug_classes
from .criteria import Item
from .extract import _CONDITION, _EDSS
from .facts import Bound, Fact, months, parse_bound, without_asides, words_to_digits

_UNIT = r"(days?|weeks?|months?|years?|yrs?)"
_WINDOW = re.compile(
    rf"(?:within|in|during|over|for|since|of)\s+(?:at\s+least\s+|a\s+minimum\s+of\s+|the\s+)*"
    rf"(?:last|past|previous|prior|preceding|recent|first)?\s*(\d+(?:\.\d+)?)\s*(?:\(\w+\)\s*)?{_UNIT}"
    rf"|(\d+(?:\.\d+)?)\s*(?:\(\w+\)\s*)?{_UNIT}\s+(?:before|prior|preceding)"
    r"|(?:previous|past|last|prior|preceding)\s+(year|month)\b",
    re.I,
)


def window_months(text: str) -> float | None:
    """The first time window in ``text`` in months (``'in the previous 2 years'`` -> 24)."""
    match = _WINDOW.search(words_to_digits(text))
    if not match:
        return None
    if match.group(1):
        return months(float(match.group(1)), match.group(2))
    if match.group(3):
        return months(float(match.group(3)), match.group(4))
    return months(1, match.group(5))


# -- disease duration ---------------------------------------------------------------

_DURATION = re.compile(
    r"\b(?:disease|MS|illness)\s+duration|duration\s+of\s+(?:the\s+)?(?:disease|MS|multiple\s+sclerosis|illness)|"
    r"(?:since|from|after)\s+(?:the\s+)?(?:onset|diagnosis|first\s+(?:symptom|neurological))|"
    r"diagnosed\s+(?:within|in\s+the\s+(?:last|past))|diagnosis\s+(?:within|of\s+MS\s+within)",
    re.I,
)


def durations(items: Iterable[Item]) -> list[Fact]:
    """Disease duration limits in years, and which clock they use (onset, diagnosis, either)."""
    facts = []
    for item in items:
        for sentence in item.sentences():
            if not _DURATION.search(sentence):
                continue
            text = words_to_digits(sentence)
            years_only = re.sub(r"\bEDSS\b[^,;()]*", " ", text)  # "EDSS 5.0 or above" is the condition
            within = re.search(r"within\s+(?:the\s+)?(?:last|past|previous)?\s*(\d+(?:\.\d+)?)\s*years?", years_only, re.I)
            if within:
                bound: Bound | None = Bound(None, float(within.group(1)))
                plain = True
            else:
                clause = " ".join(m.group(0) for m in re.finditer(
                    r"(?:[^\d,;]{0,40})\d+(?:\.\d+)?\s*(?:-|to|and)?\s*\d*(?:\.\d+)?\s*years?", years_only, re.I))
                bound, plain = parse_bound(clause, 0, 80)
            if bound is None:
                continue
            clock = ("onset" if re.search(r"onset|symptom", sentence, re.I) else
                     "diagnosis" if re.search(r"diagnos", sentence, re.I) else "either")
            conditional = bool(_EDSS.search(sentence) or _CONDITION.search(sentence)
                               or re.search(r"\bif\b|\bor\s+more\s+than\b.*\bor\b", sentence, re.I))
            confident = plain and not conditional and item.section != "unknown" and not item.any_of
            facts.append(Fact("duration", item.section, sentence, confident=confident,
                              data={"range": bound, "clock": clock, "conditional": conditional}))
    return facts


# -- relapses ------------------------------------------------------------------------

_RELAPSE = re.compile(r"\b(?:relapses?|attacks?|exacerbations?)\b", re.I)
_RELAPSE_FREE = re.compile(
    r"\b(?:no|not|never|without|absence\s+of|free\s+of|free\s+from|negative)\b[^.;]{0,50}\b(?:relapses?|attacks?|exacerbations?)|"
    r"relapse[\s-]free|(?:relapses?|attacks?|exacerbations?)\b[^.;]{0,40}\bwithin\b|"
    r"\bonset\s+of\s+(?:an?\s+)?(?:acute\s+)?(?:MS\s+)?relapse",
    re.I,
)
_COUNT = re.compile(
    r"(?:at\s+least|≥|>=|minimum\s+of|a\s+minimum\s+of)?\s*(\d+)\s+(?:or\s+more\s+)?"
    r"(?:\w+\s+){0,2}(?:relapses?|attacks?|exacerbations?)", re.I)
_OTHER_ACTIVITY = re.compile(r"\b(?:MRI|lesions?|gadolinium|Gd\+?|T2|T1|activity|enhanc\w*|episodes?)\b", re.I)
_COUNTED = re.compile(r"(?:at\s+least|≥|>=|minimum\s+of|one\s+or\s+more|\d+\s+or\s+more|\b\d+)\s*(?:\w+\s+){0,3}"
                      r"(?:relapses?|attacks?|exacerbations?)|\b(?:a|one)\s+(?:\w+\s+){0,2}relapse", re.I)


def relapses(items: Iterable[Item]) -> list[Fact]:
    """Relapses required in a window, or a relapse-free period; with their alternatives."""
    facts = []
    for item in items:
        for sentence in item.sentences():
            if not _RELAPSE.search(sentence) or re.search(r"relapsing|steroid|corticosteroid", sentence, re.I) \
                    and not re.search(r"\brelapses?\b", sentence, re.I):
                continue
            window = window_months(sentence)
            if window is None:
                continue
            text = words_to_digits(sentence)
            free = bool(_RELAPSE_FREE.search(text)) or item.section == "exclusion"
            if item.section == "exclusion" and re.search(r"\b(?:no|without|absence)\b", text, re.I):
                continue  # a double negative: read by a person, not here
            alternatives = bool(_OTHER_ACTIVITY.search(text)) or (item.any_of and item.section == "inclusion")
            confident = item.section != "unknown" and not alternatives and not _CONDITION.search(sentence)
            if not free and not _COUNTED.search(text):
                confident = False  # neither a count of relapses nor a relapse-free period: unsure which
            if free:
                facts.append(Fact("relapse_free", item.section, sentence, confident=confident,
                                  data={"months": round(window, 1)}))
            else:
                count = _COUNT.search(text)
                facts.append(Fact("relapse_required", item.section, sentence, confident=confident,
                                  data={"months": round(window, 1), "count": int(count.group(1)) if count else 1,
                                        "alternatives": alternatives}))
    return facts


# -- therapies --------------------------------------------------------------------------

_NOT_TREATMENT = re.compile(r"hypersensitiv|allerg|contraindicat|intoleran|inappropriate|candida|"
                            r"insurance|qualifying|eligible\s+for|randomi[sz]ed\s+to|prescribed|vaccin|"
                            r"contracept|pregnan|initiation\s+of|study\s+(?:drug|treatment|medication)", re.I)
_QUALIFIED = re.compile(r"failure|failed|inadequate\s+response|non-?respon|discontinu|switch", re.I)
_TREATMENT_VERB = re.compile(r"treat|therap|exposure|exposed|receiv|receipt|\buse\b|\bused\b|taken|taking|"
                             r"administ|dosed|prior|previous|history|infusion|course|\bon\b", re.I)
_VAGUE_REQUIREMENT = re.compile(r"\bDMTs?\b|disease[\s-]modifying|approved|such\s+as|\bother\b|"
                                r"\bany\b|one\s+of\s+the\s+following|\betc\b|episode|activity", re.I)
_ON_FOR = re.compile(rf"(?:at\s+least|minimum\s+of|≥|more\s+than)\s*(\d+(?:\.\d+)?)\s*{_UNIT}\s+(?:of\s+)?"
                     r"(?:\w+\s+){0,2}(?:treatment|therapy|use)", re.I)
_CURRENT = re.compile(r"\b(?:current(?:ly)?|ongoing|concomitant|concurrent|at\s+(?:the\s+time\s+of\s+)?"
                      r"screening|receiving|on\s+(?:stable\s+)?(?:treatment|therapy))\b", re.I)
_NEGATED = re.compile(r"\b(?:no|not|never|naive|naïve|without)\b", re.I)
_EVER = re.compile(r"\b(?:never|ever|na[iï]ve|prior|previous(?:ly)?|history|before|past)\b", re.I)


@cache
def _drug_patterns() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    out = []
    for drug_class in drug_classes():
        members = tuple(d.name for d in drug_class.members)
        for alias in {drug_class.name, *drug_class.aliases}:
            if len(alias) > 3:
                out.append((_pattern(alias), members))
        for drug in drug_class.members:
            for name in drug.names:
                out.append((_pattern(name), (drug.name,)))
    return tuple(out)


@cache
def _drug_needles() -> tuple[str, ...]:
    """For each of :func:`_drug_patterns`, the lower-case ASCII words every match contains
    (the part of its name before the first space or hyphen), "" when not ASCII."""
    words = []
    for pattern, _ in _drug_patterns():
        first = re.sub(r"\\(.)", r"\1", pattern.pattern.split(")", 1)[1].split("[", 1)[0].split("(?!", 1)[0])
        words.append(first.lower() if first.isascii() and first.isalnum() else "")
    return tuple(words)


def named_drugs(text: str) -> tuple[str, ...]:
    """INNs of the drugs, brands, code names or classes ``text`` names, in data order."""
    text = re.sub(r"interferon[\s-]*(?:gamma|γ)", " ", text, flags=re.I)  # a TB test, not a therapy
    # A pattern can match only where its first word occurs: test that first (ASCII text
    # only, where lower() and the patterns' IGNORECASE agree), then the pattern.
    lowered = text.lower() if text.isascii() else None
    found: list[str] = []
    for (pattern, inns), needle in zip(_drug_patterns(), _drug_needles(), strict=True):
        if lowered is not None and needle and needle not in lowered:
            continue
        if pattern.search(text):
            found += [i for i in inns if i not in found]
    return tuple(found)


def therapies(items: Iterable[Item]) -> list[Fact]:
    """Named therapies a trial excludes (ever, currently, or within a washout) or requires."""
    facts = []
    for item in items:
        for sentence in item.sentences():
            drugs = named_drugs(sentence)
            if not drugs or _NOT_TREATMENT.search(sentence):
                continue
            first = min((m.start() for p, _ in _drug_patterns() if (m := p.search(sentence))), default=0)
            clause = re.split(r"\band\b|;|,|\)", sentence[:first])[-1]
            negated = bool(_NEGATED.search(clause) or re.search(r"na[iï]ve", sentence, re.I))
            if item.section == "inclusion" and not negated:
                rule = "required"
            elif item.section == "exclusion" and negated:
                continue  # "excluded: no prior X" reads both ways; leave it to a person
            else:
                rule = "excluded"
            window = window_months(sentence)
            if rule == "required":
                on_for = _ON_FOR.search(words_to_digits(sentence))
                window = months(float(on_for.group(1)), on_for.group(2)) if on_for else None
            if rule == "excluded":
                when = ("washout" if window is not None or re.search(r"washout|wash-out", sentence, re.I)
                        else "current" if _CURRENT.search(sentence) else "ever")
                if when == "ever" and item.section == "inclusion" and not _EVER.search(sentence):
                    when = "current"  # "inclusion: not treated with X" may mean now, not ever: the milder reading
            else:
                when = "current"
            confident = item.section != "unknown" and not (item.any_of and item.section == "inclusion") \
                and not _CONDITION.search(sentence)
            bare = without_asides(sentence)
            if rule == "required" and _VAGUE_REQUIREMENT.search(bare):
                confident = False
            if rule == "excluded" and (_QUALIFIED.search(sentence) or not _TREATMENT_VERB.search(sentence)):
                confident = False
            facts.append(Fact("therapy", item.section, sentence, confident=confident,
                              data={"rule": rule, "when": when, "drugs": list(drugs),
                                    "months": None if window is None else round(window, 1)}))
    return facts


# -- pregnancy and breastfeeding -------------------------------------------------------------

_PREGNANT = re.compile(r"\bpregnan(?:t|cy)\b(?!\s+test\s+(?:at|during|will|must))", re.I)
_BREASTFEEDING = re.compile(r"breast[\s-]?feed\w*|lactat\w*|nursing\s+(?:mothers?|women)|\bnursing\b", re.I)


def pregnancy(items: Iterable[Item]) -> list[Fact]:
    """Exclusions of pregnancy and breastfeeding (planning or contraception is not read)."""
    facts = []
    for item in items:
        for sentence in item.sentences():
            if item.section != "exclusion":
                # an inclusion may say it the other way round: "must not be pregnant or breastfeeding"
                if not re.search(r"\b(?:not|non)[\s-](?:\w+\s+){0,3}(?:pregnan|lactat|breast|nursing)", sentence, re.I):
                    continue
            if _PREGNANT.search(sentence) and not re.search(r"contracept|prevent|avoid", sentence, re.I):
                facts.append(Fact("pregnancy", item.section, sentence, confident=item.section != "unknown"))
            if _BREASTFEEDING.search(sentence):
                facts.append(Fact("breastfeeding", item.section, sentence, confident=item.section != "unknown"))
    return facts


# -- requirements only the study team can check -------------------------------------------

TOPICS = [
    ("mri", re.compile(r"\bMRI\b|gadolinium|\bGd\b|\bT[12]\b.{0,20}lesion|\blesions?\b", re.I),
     "Does your recent MRI show what this asks for?"),
    ("progression", re.compile(r"progression|worsening|increase\s+in\s+(?:EDSS|disability)", re.I),
     "Has your neurologist documented the disability progression this asks for?"),
    ("test", re.compile(r"T25FW|timed\s+25|9-?HPT|nine[\s-]hole|SDMT|PASAT|functional\s+system|pyramidal|"
                        r"\bscore\b", re.I),
     "Do your test scores meet this?"),
    ("place", re.compile(r"\bliving\s+in\b|\bresid(?:e|ent|ing)\b|\bcitizen|\bcountry\b", re.I),
     "Can you take part from where you live?"),
    ("csf", re.compile(r"oligoclonal|cerebrospinal|\bCSF\b|IgG\s+index", re.I),
     "Has a spinal tap (CSF test) shown this?"),
]


def topics(items: Iterable[Item], read: set[str]) -> list[Fact]:
    """Inclusion requirements about things a profile cannot state (skipping sentences in ``read``)."""
    facts = []
    for item in items:
        if item.section != "inclusion":
            continue
        for sentence in item.sentences():
            if sentence in read:
                continue
            for name, regex, question in TOPICS:
                if regex.search(sentence) and not (name == "test" and _EDSS.search(sentence)):
                    facts.append(Fact("requirement", item.section, sentence, confident=False,
                                      data={"topic": name, "question": question}))
                    break
    return facts
