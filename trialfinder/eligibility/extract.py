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
from .facts import Bound, Fact, parse_bound, without_asides

# Order matters: the specific forms are matched (and blanked out) before the general ones,
# so "non-relapsing secondary progressive" never also counts as "relapsing".
_SP = r"(?:secondary[\s-]+progressive(?:\s+(?:multiple\s*sclerosis|MS))?|SP-?MS)"
_MS = r"(?:multiple\s*sclerosis|MS)"
MS_PATTERNS: list[tuple[str, str, frozenset[str]]] = [  # (category, pattern, courses)
    ("nrspms", rf"\b(?:non[\s-]?relapsing|non[\s-]?active|inactive|not\s+active)\s+{_SP}|\b(?:nr|na)-?SPMS\b|"
               rf"\b{_SP}\s+without\s+(?:superimposed\s+)?relapses", frozenset({"nrspms"})),
    ("nrprogressive", rf"\b(?:non[\s-]?relapsing)\s+(?:progressive\s+)?(?:forms?\s+of\s+)?{_MS}",
     frozenset({"ppms", "nrspms"})),
    ("aspms", rf"\b(?:active|relapsing)\s+{_SP}|\b[ar]-?SPMS\b|\b{_SP}\s+with\s+(?:superimposed\s+)?relapses",
     frozenset({"aspms"})),
    ("spms", rf"\b{_SP}", frozenset({"aspms", "nrspms"})),
    ("ppms", r"\bprimary[\s-]+progressive(?:\s+(?:multiple\s+sclerosis|MS))?|\bPP-?MS\b", frozenset({"ppms"})),
    ("rrms", r"(?<!non-)(?<!non )\brelapsing[\s-]+remitting(?:\s+(?:multiple\s+sclerosis|MS))?|\bRR-?MS\b",
     frozenset({"rrms"})),
    ("rms", rf"(?<!non-)(?<!non )\brelapsing\s+(?:forms?\s+of\s+)?{_MS}|\bR-?MS\b", frozenset({"rrms", "aspms", "cis"})),
    ("progressive", rf"\bprogressive\s+(?:forms?\s+of\s+)?{_MS}|\bP-?MS\b", frozenset({"ppms", "aspms", "nrspms"})),
    ("cis", r"\bclinically\s+isolated\s+syndromes?\b|\bCIS\b", frozenset({"cis"})),
]
_MS_RE = [(key, re.compile(p, re.I), c) for key, p, c in MS_PATTERNS]
_NEGATION = re.compile(r"\b(?:no|not|without|absence\s+of|other\s+than|except|excluding|non)\b[^,;]*$", re.I)
_CONDITION = re.compile(
    r"\b(?:if|when|unless|whereas|for\s+(?:participants|patients|subjects|those|people)|"
    r"(?:participants|patients|subjects|those)\s+with\s+[\w\s-]{0,40}?(?:must|should|will|need|may|are\s+required))\b"
    r"|\b(?:cohort|part|arm|group|stratum)\s+[A-Z0-9]\b",
    re.I,
)
_EXCL_TAIL = re.compile(r"^\s*(?:$|[.,;:)]|\(|or\b|and\b|according|as\s+defined|per\b|based|by\b|diagnos|"
                        r"\(?\w+\)?\s*(?:$|[.;]))", re.I)
# Categories that name courses one by one (a trial that names them means exactly them).
_NAMED = {"nrspms", "aspms", "spms", "ppms", "rrms", "cis"}
Mention = tuple[int, int, frozenset[str], str]


_TRAIL = re.compile(r"\s*(?:multiple\s*sclerosis|MS)?\s*\(\s*[A-Za-z]{0,3}-?[A-Za-z]{2,6}\s*\)", re.I)


# Every match of MS_PATTERNS contains one of these words, under the same IGNORECASE rules
# ("ſ" for "s" included): most sentences name no MS type, and one search rules them out.
_MS_HINT = re.compile(r"primary|relapsing|progressive|clinically|cis|p-?ms|r-?ms", re.I)


def ms_type_mentions(text: str) -> list[Mention]:
    """``(start, end, courses, category)`` for each MS type named in ``text``, specific forms first.

    "secondary progressive multiple sclerosis (SPMS)" is one mention, its acronym included.
    """
    if not _MS_HINT.search(text):
        return []
    return _mentions(text)


def _mentions(text: str) -> list[Mention]:
    work = text
    found = []
    for key, regex, courses in _MS_RE:
        spans = []
        for match in regex.finditer(work):
            trail = _TRAIL.match(work, match.end())
            spans.append((match.start(), trail.end() if trail else match.end()))
        for start, end in spans:
            found.append((start, end, courses, key))
            work = work[:start] + " " * (end - start) + work[end:]
    return sorted(found)


ALL_MS = frozenset({"rrms", "aspms", "nrspms", "ppms"})  # MS proper: CIS is not yet MS (McDonald 2017)
_MS_WORD = re.compile(r"\b(?:multiple\s+sclerosis|MS|pwMS|PwMS)\b")
_DIAGNOSIS = re.compile(r"diagnos|confirmed|definite|established|McDonald|Mc\s*Donald", re.I)
_COORDINATED = re.compile(r"(?:\bor\b|,|/)\s*(?:multiple\s+sclerosis|MS)\b|\b(?:multiple\s+sclerosis|MS)\s*(?:\bor\b|,|/)",
                          re.I)
_VAGUE_TYPE = re.compile(r"\b(?:atypical|other|any|all)\s+(?:forms?|types?|subtypes?)\b", re.I)


def _generic_ms(sentence: str, mentions: list[Mention]) -> bool:
    """Does the sentence require MS itself, beyond the types it names ("MS or CIS")?"""
    rest = sentence
    for start, end, *_ in mentions:
        rest = rest[:start] + " " * (end - start) + rest[end:]
    rest = re.sub(r"(?:criteria|centre|center|clinic|society|unit|course|revisions?)\s+(?:for|of)\s+"
                  r"(?:multiple\s+sclerosis|MS)", " ", rest, flags=re.I)
    if mentions:
        return bool(_COORDINATED.search(rest))
    word = _MS_WORD.search(rest)
    return bool(word and _DIAGNOSIS.search(sentence) and not _NEGATION.search(sentence[:word.start()]))


def ms_types(items: Iterable[Item]) -> list[Fact]:
    """MS types admitted (the inclusion mentions together) and excluded (each exclusion sentence).

    A bare "diagnosis of MS" admits every MS type but not CIS: alone it is the
    admitted set; beside named types it only takes CIS out unless CIS is named.
    """
    admitted: set[str] = set()
    named: set[str] = set()
    categories: set[str] = set()
    texts: list[str] = []
    confident_in = True
    generic: list[str] = []
    generic_confident = True
    facts = []
    for item in items:
        for sentence in item.sentences():
            mentions = ms_type_mentions(sentence)
            if item.section == "inclusion" and _generic_ms(sentence, mentions):
                if mentions:
                    mentions.append((0, 0, ALL_MS, "ms"))
                else:
                    generic.append(sentence)
                    generic_confident = generic_confident and not item.any_of and not _CONDITION.search(sentence)
            if not mentions:
                continue
            vague = bool(_VAGUE_TYPE.search(item.text))
            conditional = bool(_CONDITION.search(sentence))
            out: dict[bool, tuple[frozenset[str], frozenset[str]]] = {}
            for start, end, courses, key in mentions:
                negated = bool(_NEGATION.search(sentence[:start]))
                if item.section == "exclusion" and negated:
                    continue  # "not active progressive MS" in an exclusion list: a double negative
                if item.section == "exclusion" or negated:
                    sure = (item.section == "exclusion" and not conditional and not vague
                            and bool(_EXCL_TAIL.match(sentence[end:])))
                    types, keys = out.get(sure, (frozenset(), frozenset()))
                    out[sure] = (types | courses, keys | {key})
                    continue
                admitted |= courses
                categories.add(key)
                if key in _NAMED:
                    named.update(courses)
                if sentence not in texts:
                    texts.append(sentence)
                confident_in = confident_in and item.section == "inclusion" and not conditional \
                    and not item.any_of and not vague
            for sure, (types, keys) in sorted(out.items(), reverse=True):
                facts.append(Fact("ms_type", "exclusion" if item.section == "exclusion" else item.section, sentence,
                                  confident=sure, data={"rule": "excluded", "types": types, "categories": keys}))
    if admitted:
        if generic and "cis" not in named:
            admitted.discard("cis")
            texts.append(generic[0])
        facts.insert(0, Fact("ms_type", "inclusion", " … ".join(texts), confident=confident_in,
                             data={"rule": "admitted", "types": frozenset(admitted), "named": frozenset(named),
                                   "categories": frozenset(categories)}))
    elif generic:
        facts.insert(0, Fact("ms_type", "inclusion", generic[0], confident=generic_confident,
                             data={"rule": "admitted", "types": ALL_MS, "named": frozenset(),
                                   "categories": frozenset({"ms"})}))
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
            bare = without_asides(sentence)  # asides in brackets do not change the bound
            confident = (item.section != "unknown" and not _EDSS_NOT_A_BOUND.search(bare)
                         and not _CONDITION.search(bare) and len(_EDSS.findall(bare)) <= 1
                         and not (item.any_of and item.section == "inclusion"))
            bound, plain = parse_bound(clause, 0, 10)
            if bound is not None:
                facts.append(Fact("edss", item.section, sentence, confident=confident and plain,
                                  data={"range": bound}))
                continue
            # "EDSS < 2.0 or > 6.5": in an exclusion list, each side rules out on its own
            parts = [parse_bound(part, 0, 10) for part in re.split(r"\bor\b", clause, flags=re.I)]
            if item.section == "exclusion" and len(parts) > 1 and all(b is not None and p for b, p in parts):
                facts += [Fact("edss", item.section, sentence, confident=confident, data={"range": b})
                          for b, _ in parts]
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


_MS_CONDITION = re.compile(r"multiple\s+sclerosis|\bMS\b|\bpwMS\b|sclérose|esclerosis\s+m|demyelinat|"
                           r"clinically\s+isolated|neuromyelitis|optic\s+neuritis|\bCIS\b", re.I)


_GENERIC_WORDS = frozenset("""syndrome syndromes disease diseases disorder disorders primary chronic acute
infant infants newborn patients healthy adults children adult child severe early stage human people
condition conditions illness infection infections volunteers""".split())


def condition(conditions: Iterable[str], titles: Iterable[str], items: list[Item], healthy: bool | None) -> list[Fact]:
    """A trial that requires another disease: its conditions, titles and criteria never mention MS,
    and an inclusion criterion names one of its conditions (other illnesses are assumed absent)."""
    conditions = [c for c in conditions if c]
    if not conditions or healthy is True:
        return []
    texts = [i.text for i in items]
    if any(_MS_CONDITION.search(text) for text in (*conditions, *titles, *texts)):
        return []
    words = {w.lower() for c in conditions for w in re.findall(r"[A-Za-z]{4,}", c)} - _GENERIC_WORDS
    words |= {w for c in conditions for w in re.findall(r"\b[A-Z]{3,}\b", c)}
    for item in items:
        if item.section != "exclusion":
            for sentence in item.sentences():
                if any(re.search(rf"\b{re.escape(w)}", sentence, re.I) for w in words):
                    return [Fact("condition", item.section, sentence, confident=item.section == "inclusion",
                                 data={"conditions": conditions})]
    return []
