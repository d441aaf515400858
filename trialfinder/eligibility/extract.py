"""Facts about who a trial admits: MS type, EDSS, age and sex.

Each extractor reads :class:`~.criteria.Item` objects and returns
:class:`~.facts.Fact` objects quoting the sentence they came from. A reading
that could be wrong (a condition, an alternative, a negation) is marked not
confident, so that it can only ever make a verdict unclear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .criteria import Item
from .facts import Bound, Fact, parse_bound

# Order matters: the specific forms are matched (and blanked out) before the general ones,
# so "non-relapsing secondary progressive" never also counts as "relapsing".
_SP = r"(?:secondary[\s-]+progressive(?:\s+(?:multiple\s+sclerosis|MS))?|SP-?MS)"
_MS = r"(?:multiple\s+sclerosis|MS)"
MS_PATTERNS: list[tuple[str, frozenset[str]]] = [
    (rf"\b(?:non[\s-]?relapsing|non[\s-]?active|inactive|not\s+active)\s+{_SP}|\b(?:nr|na)-?SPMS\b|"
     rf"\b{_SP}\s+without\s+(?:superimposed\s+)?relapses", frozenset({"nrspms"})),
    (rf"\b(?:non[\s-]?relapsing)\s+(?:progressive\s+)?(?:forms?\s+of\s+)?{_MS}", frozenset({"ppms", "nrspms"})),
    (rf"\b(?:active|relapsing)\s+{_SP}|\b[ar]-?SPMS\b|\b{_SP}\s+with\s+(?:superimposed\s+)?relapses",
     frozenset({"aspms"})),
    (rf"\b{_SP}", frozenset({"aspms", "nrspms"})),
    (r"\bprimary[\s-]+progressive(?:\s+(?:multiple\s+sclerosis|MS))?|\bPP-?MS\b", frozenset({"ppms"})),
    (r"(?<!non-)(?<!non )\brelapsing[\s-]+remitting(?:\s+(?:multiple\s+sclerosis|MS))?|\bRR-?MS\b",
     frozenset({"rrms"})),
    (rf"(?<!non-)(?<!non )\brelapsing\s+(?:forms?\s+of\s+)?{_MS}|\bR-?MS\b", frozenset({"rrms", "aspms", "cis"})),
    (rf"\bprogressive\s+(?:forms?\s+of\s+)?{_MS}|\bP-?MS\b", frozenset({"ppms", "aspms", "nrspms"})),
    (r"\bclinically\s+isolated\s+syndromes?\b|\bCIS\b", frozenset({"cis"})),
]
_MS_RE = [(re.compile(p, re.I if not p.startswith(r"\b[ar]") else 0), c) for p, c in MS_PATTERNS]
_NEGATION = re.compile(r"\b(?:no|not|without|absence\s+of|other\s+than|except|excluding|non)\b[^,;]*$", re.I)
_CONDITION = re.compile(
    r"\b(?:if|when|unless|whereas|for\s+(?:participants|patients|subjects|those|people)|"
    r"(?:participants|patients|subjects|those)\s+with\s+[\w\s-]{0,40}?(?:must|should|will|need|may|are\s+required))\b"
    r"|\b(?:cohort|part|arm|group|stratum)\s+[A-Z0-9]\b",
    re.I,
)
_EXCL_TAIL = re.compile(r"^\s*(?:$|[.,;:)]|\(|or\b|and\b|according|as\s+defined|per\b|based|by\b|diagnos|"
                        r"\(?\w+\)?\s*(?:$|[.;]))", re.I)


def ms_type_mentions(text: str) -> list[tuple[int, int, frozenset[str]]]:
    """``(start, end, courses)`` for each MS type named in ``text``, specific forms first."""
    work = text
    found = []
    for regex, courses in _MS_RE:
        for match in regex.finditer(work):
            found.append((match.start(), match.end(), courses))
        work = regex.sub(lambda m: " " * len(m.group(0)), work)
    return sorted(found)


def ms_types(items: Iterable[Item]) -> list[Fact]:
    """MS types admitted (all inclusion mentions together) and excluded (each exclusion item)."""
    admitted: set[str] = set()
    admitted_texts: list[str] = []
    admitted_confident = True
    facts = []
    for item in items:
        for sentence in item.sentences():
            mentions = ms_type_mentions(sentence)
            if not mentions:
                continue
            conditional = bool(_CONDITION.search(sentence))
            excluded_here: dict[bool, frozenset[str]] = {}
            for start, end, courses in mentions:
                negated = bool(_NEGATION.search(sentence[:start]))
                excludes = (item.section == "exclusion") != negated
                if item.section == "unknown" or (item.section == "inclusion" and negated):
                    confident = False
                elif excludes:
                    confident = not conditional and bool(_EXCL_TAIL.match(sentence[end:]))
                else:
                    confident = not conditional and not item.any_of
                if excludes:
                    excluded_here[confident] = excluded_here.get(confident, frozenset()) | courses
                else:
                    admitted |= courses
                    if sentence not in admitted_texts:
                        admitted_texts.append(sentence)
                    admitted_confident = admitted_confident and confident
            for confident, courses in sorted(excluded_here.items(), reverse=True):
                facts.append(Fact("ms_type", item.section, sentence, confident=confident,
                                  data={"rule": "excluded", "types": courses}))
    if admitted:
        facts.insert(0, Fact("ms_type", "inclusion", " … ".join(admitted_texts), confident=admitted_confident,
                             data={"rule": "admitted", "types": frozenset(admitted)}))
    return facts


# -- EDSS ------------------------------------------------------------------------

_EDSS = re.compile(r"\bEDSS\b|expanded\s+disability\s+status\s+scale(?:\s*\(EDSS\))?", re.I)
_EDSS_NOT_A_BOUND = re.compile(
    r"\b(?:increase|progression|worsening|change|improvement|decrease|sustained|confirmed|step|"
    r"functional\s+system|FS\b|pyramidal|cerebellar|ambulation\s+score|duration|years?\s+(?:since|from|of)|"
    r"onset|within\s+\d+\s+(?:days?|weeks?|months?|years?))",
    re.I,
)


_DURATION_WORDS = re.compile(r"\bduration\b|\b(?:since|from)\s+(?:the\s+)?(?:onset|diagnosis|first)", re.I)


def edss(items: Iterable[Item]) -> list[Fact]:
    """EDSS limits; in an exclusion item the stated range is the one that rules out."""
    facts = []
    for item in items:
        for sentence in item.sentences():
            mentions = list(_EDSS.finditer(sentence))
            if not mentions or _DURATION_WORDS.search(sentence):
                continue  # "duration > 10 years (EDSS below 5.0)": the EDSS is a condition, read there
            clause = sentence[mentions[0].end():]
            clause = re.split(r";|\.\s|\bexcept\b|\bunless\b", clause)[0][:160]
            bound, plain = parse_bound(clause, 0, 10)
            if bound is None:
                continue
            confident = (plain and item.section != "unknown" and not _EDSS_NOT_A_BOUND.search(sentence)
                         and not _CONDITION.search(sentence) and len(mentions) == 1
                         and not (item.any_of and item.section == "inclusion"))
            facts.append(Fact("edss", item.section, sentence, confident=confident, data={"range": bound}))
    return facts


# -- age and sex -----------------------------------------------------------------

_AGE_UNITS = {"year": 1.0, "month": 1 / 12, "week": 1 / 52.1775, "day": 1 / 365.25, "hour": 1 / 8766,
              "minute": 1 / 525960}
_AGE_TEXT = re.compile(r"\b(?:aged?|ages|years?\s+of\s+age|years?\s+old|yrs?\s+old)\b", re.I)
_AGE_NOT_CURRENT = re.compile(
    r"\b(?:at\s+(?:the\s+)?(?:onset|diagnosis|first|time\s+of\s+(?:onset|diagnosis))|onset|diagnosed\s+(?:at|before)|"
    r"child|partner|gestation|menopaus|post-?menopaus|stratif|months?|weeks?|infant|birth)",
    re.I,
)


def structured_years(text: str) -> float | None:
    """``'18 Years'`` -> 18.0, ``'6 Months'`` -> 0.5; None when empty or unreadable."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+?)s?\s*", text or "")
    if not match:
        return None
    factor = _AGE_UNITS.get(match.group(2).lower())
    return None if factor is None else float(match.group(1)) * factor


def ages(min_age: str, max_age: str, items: Iterable[Item]) -> list[Fact]:
    """The structured age limits first, then any age limits the text states."""
    facts = []
    low, high = structured_years(min_age), structured_years(max_age)
    if low is not None:
        facts.append(Fact("age", "structured", min_age, "minimumAge", data={"range": Bound(low, None)}))
    if high is not None:
        facts.append(Fact("age", "structured", max_age, "maximumAge", data={"range": Bound(None, high)}))
    for item in items:
        for sentence in item.sentences():
            if not _AGE_TEXT.search(sentence) or _AGE_NOT_CURRENT.search(sentence):
                continue
            at = _AGE_TEXT.search(sentence)
            assert at is not None
            window = sentence[max(0, at.start() - 60):at.end() + 80]
            bound, plain = parse_bound(window, 0, 120)
            if bound is None or (bound.low is None and bound.high is None):
                continue
            confident = plain and item.section != "unknown" and not _CONDITION.search(sentence)
            facts.append(Fact("age", item.section, sentence, confident=confident,
                              data={"range": bound, "from_text": True}))
    return facts


def sex(value: str) -> list[Fact]:
    """The structured sex field (ALL, FEMALE or MALE)."""
    value = (value or "").upper()
    if value in ("FEMALE", "MALE"):
        return [Fact("sex", "structured", value, "sex", data={"sex": value.lower()})]
    return []
