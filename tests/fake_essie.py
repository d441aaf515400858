"""The data model and an approximation of Essie, the query language of the ClinicalTrials.gov API.

Used by :mod:`tests.fakeapi`. It knows the study record's *pieces* (named fields,
REFERENCE.md s4.2), the search *areas* behind ``query.*`` parameters, and parses and
evaluates Essie expressions (REFERENCE.md s3.2)::

    pred = compile_query('AREA[Phase](PHASE2 OR PHASE3) AND NOT "healthy"', BASIC)
    pred(StudyView(record))  # -> bool

Deliberate simplifications: a term or phrase matches as a case-insensitive substring
of any text in its area (no stemming, synonyms or word boundaries); there is no
relevance score; ``EXPANSION[...]`` and ``TILT[...]`` are accepted and ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AREAS", "BASIC", "PIECES", "EssieError", "Piece", "Pred", "SearchArea", "StudyView",
    "age_days", "compile_query", "date_key", "haversine_miles", "near", "parse_distance",
    "resolve_piece",
]

# -- pieces ------------------------------------------------------------------------------

STATUS = (
    "ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING",
    "RECRUITING", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
)
RECRUITMENT_STATUS = STATUS[:9]
_ENUMS: dict[str, tuple[str, ...]] = {
    "Status": STATUS,
    "RecruitmentStatus": RECRUITMENT_STATUS,
    "Phase": ("NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4"),
    "StudyType": ("EXPANDED_ACCESS", "INTERVENTIONAL", "OBSERVATIONAL"),
    "Sex": ("FEMALE", "MALE", "ALL"),
    "StandardAge": ("CHILD", "ADULT", "OLDER_ADULT"),
    "InterventionType": (
        "BEHAVIORAL", "BIOLOGICAL", "COMBINATION_PRODUCT", "DEVICE", "DIAGNOSTIC_TEST",
        "DIETARY_SUPPLEMENT", "DRUG", "GENETIC", "PROCEDURE", "RADIATION", "OTHER",
    ),
    "AgencyClass": (
        "NIH", "FED", "OTHER_GOV", "INDIV", "INDUSTRY", "NETWORK", "AMBIG", "OTHER", "UNKNOWN",
    ),
    "ContactRole": (
        "STUDY_CHAIR", "STUDY_DIRECTOR", "PRINCIPAL_INVESTIGATOR", "SUB_INVESTIGATOR", "CONTACT",
    ),
    "DateType": ("ACTUAL", "ESTIMATED"),
    "ArmGroupType": (
        "EXPERIMENTAL", "ACTIVE_COMPARATOR", "PLACEBO_COMPARATOR", "SHAM_COMPARATOR",
        "NO_INTERVENTION", "OTHER",
    ),
    "DesignAllocation": ("RANDOMIZED", "NON_RANDOMIZED", "NA"),
    "PrimaryPurpose": (
        "TREATMENT", "PREVENTION", "DIAGNOSTIC", "ECT", "SUPPORTIVE_CARE", "SCREENING",
        "HEALTH_SERVICES_RESEARCH", "BASIC_SCIENCE", "DEVICE_FEASIBILITY", "OTHER",
    ),
    "DesignMasking": ("NONE", "SINGLE", "DOUBLE", "TRIPLE", "QUADRUPLE"),
}
KINDS = ("text", "enum", "date", "number", "age", "bool", "geo", "struct")


@dataclass(frozen=True)
class Piece:
    """A named field of the study record.

    ``path`` leads to the value; lists met on the way are walked, so a piece under
    ``locations`` has one value per site. ``keep`` is the node a ``fields`` projection
    keeps when that is not the value itself (date pieces keep their ``{date, type}`` struct).
    """

    name: str
    path: tuple[str, ...]
    kind: str = "text"
    enum: tuple[str, ...] = ()
    keep: tuple[str, ...] | None = None

    @property
    def project_path(self) -> tuple[str, ...]:
        return self.keep or self.path

    @property
    def dotted(self) -> str:
        """The JSON path as the API spells it, e.g. ``protocolSection.designModule.phases``."""
        return ".".join(self.path)


def _table() -> dict[str, Piece]:
    ps = ("protocolSection",)
    ident, status = ps + ("identificationModule",), ps + ("statusModule",)
    spons, design = ps + ("sponsorCollaboratorsModule",), ps + ("designModule",)
    arms, elig = ps + ("armsInterventionsModule",), ps + ("eligibilityModule",)
    contacts = ps + ("contactsLocationsModule",)
    locs = contacts + ("locations",)
    intr, groups = arms + ("interventions",), arms + ("armGroups",)
    info, outcomes = design + ("designInfo",), ps + ("outcomesModule",)
    officials = contacts + ("overallOfficials",)
    cbrowse = ("derivedSection", "conditionBrowseModule")
    ibrowse = ("derivedSection", "interventionBrowseModule")
    rows: list[tuple[str, tuple[str, ...], str, str | None]] = [
        # name, path, kind, enum type
        ("NCTId", ident + ("nctId",), "text", None),
        ("NCTIdAlias", ident + ("nctIdAliases",), "text", None),
        ("BriefTitle", ident + ("briefTitle",), "text", None),
        ("OfficialTitle", ident + ("officialTitle",), "text", None),
        ("Acronym", ident + ("acronym",), "text", None),
        ("OrgStudyId", ident + ("orgStudyIdInfo", "id"), "text", None),
        ("SecondaryId", ident + ("secondaryIdInfos", "id"), "text", None),
        ("OrgFullName", ident + ("organization", "fullName"), "text", None),
        ("OrgClass", ident + ("organization", "class"), "enum", "AgencyClass"),
        ("OverallStatus", status + ("overallStatus",), "enum", "Status"),
        ("LastKnownStatus", status + ("lastKnownStatus",), "enum", "Status"),
        ("WhyStopped", status + ("whyStopped",), "text", None),
        ("StatusVerifiedDate", status + ("statusVerifiedDate",), "date", None),
        ("StudyFirstSubmitDate", status + ("studyFirstSubmitDate",), "date", None),
        ("LastUpdateSubmitDate", status + ("lastUpdateSubmitDate",), "date", None),
        ("LeadSponsorName", spons + ("leadSponsor", "name"), "text", None),
        ("LeadSponsorClass", spons + ("leadSponsor", "class"), "enum", "AgencyClass"),
        ("CollaboratorName", spons + ("collaborators", "name"), "text", None),
        ("CollaboratorClass", spons + ("collaborators", "class"), "enum", "AgencyClass"),
        ("BriefSummary", ps + ("descriptionModule", "briefSummary"), "text", None),
        ("DetailedDescription", ps + ("descriptionModule", "detailedDescription"), "text", None),
        ("Condition", ps + ("conditionsModule", "conditions"), "text", None),
        ("Keyword", ps + ("conditionsModule", "keywords"), "text", None),
        ("StudyType", design + ("studyType",), "enum", "StudyType"),
        ("Phase", design + ("phases",), "enum", "Phase"),
        ("EnrollmentCount", design + ("enrollmentInfo", "count"), "number", None),
        ("EnrollmentType", design + ("enrollmentInfo", "type"), "enum", "DateType"),
        ("DesignAllocation", info + ("allocation",), "enum", "DesignAllocation"),
        ("DesignPrimaryPurpose", info + ("primaryPurpose",), "enum", "PrimaryPurpose"),
        ("DesignMasking", info + ("maskingInfo", "masking"), "enum", "DesignMasking"),
        ("Intervention", intr, "struct", None),
        ("InterventionType", intr + ("type",), "enum", "InterventionType"),
        ("InterventionName", intr + ("name",), "text", None),
        ("InterventionOtherName", intr + ("otherNames",), "text", None),
        ("InterventionDescription", intr + ("description",), "text", None),
        ("InterventionArmGroupLabel", intr + ("armGroupLabels",), "text", None),
        ("ArmGroup", groups, "struct", None),
        ("ArmGroupLabel", groups + ("label",), "text", None),
        ("ArmGroupType", groups + ("type",), "enum", "ArmGroupType"),
        ("ArmGroupDescription", groups + ("description",), "text", None),
        ("ArmGroupInterventionName", groups + ("interventionNames",), "text", None),
        ("PrimaryOutcomeMeasure", outcomes + ("primaryOutcomes", "measure"), "text", None),
        ("SecondaryOutcomeMeasure", outcomes + ("secondaryOutcomes", "measure"), "text", None),
        ("EligibilityCriteria", elig + ("eligibilityCriteria",), "text", None),
        ("HealthyVolunteers", elig + ("healthyVolunteers",), "bool", None),
        ("Sex", elig + ("sex",), "enum", "Sex"),
        ("MinimumAge", elig + ("minimumAge",), "age", None),
        ("MaximumAge", elig + ("maximumAge",), "age", None),
        ("StdAge", elig + ("stdAges",), "enum", "StandardAge"),
        ("CentralContact", contacts + ("centralContacts",), "struct", None),
        ("CentralContactName", contacts + ("centralContacts", "name"), "text", None),
        ("CentralContactRole", contacts + ("centralContacts", "role"), "enum", "ContactRole"),
        ("CentralContactPhone", contacts + ("centralContacts", "phone"), "text", None),
        ("CentralContactEMail", contacts + ("centralContacts", "email"), "text", None),
        ("OverallOfficial", officials, "struct", None),
        ("OverallOfficialName", officials + ("name",), "text", None),
        ("OverallOfficialAffiliation", officials + ("affiliation",), "text", None),
        ("OverallOfficialRole", officials + ("role",), "enum", "ContactRole"),
        ("Location", locs, "struct", None),
        ("LocationFacility", locs + ("facility",), "text", None),
        ("LocationStatus", locs + ("status",), "enum", "RecruitmentStatus"),
        ("LocationCity", locs + ("city",), "text", None),
        ("LocationState", locs + ("state",), "text", None),
        ("LocationZip", locs + ("zip",), "text", None),
        ("LocationCountry", locs + ("country",), "text", None),
        ("LocationGeoPoint", locs + ("geoPoint",), "geo", None),
        ("LocationContact", locs + ("contacts",), "struct", None),
        ("LocationContactName", locs + ("contacts", "name"), "text", None),
        ("LocationContactRole", locs + ("contacts", "role"), "enum", "ContactRole"),
        ("LocationContactPhone", locs + ("contacts", "phone"), "text", None),
        ("LocationContactEMail", locs + ("contacts", "email"), "text", None),
        ("ConditionMeshTerm", cbrowse + ("meshes", "term"), "text", None),
        ("ConditionAncestorTerm", cbrowse + ("ancestors", "term"), "text", None),
        ("InterventionMeshTerm", ibrowse + ("meshes", "term"), "text", None),
        ("InterventionAncestorTerm", ibrowse + ("ancestors", "term"), "text", None),
        ("VersionHolder", ("derivedSection", "miscInfoModule", "versionHolder"), "date", None),
        ("HasResults", ("hasResults",), "bool", None),
    ]
    table = {
        name: Piece(name, path, kind, _ENUMS[enum] if enum else ())
        for name, path, kind, enum in rows
    }
    # Date structs: the value is ``…Struct.date``; a projection keeps ``{date, type}``.
    for name in (
        "StartDate", "PrimaryCompletionDate", "CompletionDate", "StudyFirstPostDate",
        "LastUpdatePostDate", "ResultsFirstPostDate",
    ):
        struct = status + (name[0].lower() + name[1:] + "Struct",)
        table[name] = Piece(name, struct + ("date",), "date", keep=struct)
        table[name + "Type"] = Piece(name + "Type", struct + ("type",), "enum", _ENUMS["DateType"])
    return table


#: Piece name -> Piece, for ``fields``, ``sort`` and ``AREA[...]``.
PIECES: dict[str, Piece] = _table()
_PIECES_CI = {name.lower(): piece for name, piece in PIECES.items()}
LOCATIONS = PIECES["Location"].path


def resolve_piece(name: str) -> Piece | None:
    """The piece called ``name`` (case-insensitive), or None."""
    return _PIECES_CI.get(name.strip().lower())


@dataclass(frozen=True)
class SearchArea:
    """A search area: the pieces a ``query.*`` parameter searches, and its label in errors."""

    name: str
    label: str
    pieces: tuple[Piece, ...]


def _area(name: str, label: str, names: str) -> SearchArea:
    return SearchArea(name, label, tuple(PIECES[n] for n in names.split()))


_COND = "Condition Keyword BriefTitle OfficialTitle"
_INTR = "InterventionName InterventionOtherName ArmGroupLabel BriefTitle OfficialTitle"
_OTHER = (
    f"{_COND} InterventionName InterventionOtherName ArmGroupLabel Acronym LeadSponsorName NCTId"
)
_ORG, _OUTC = "OrgFullName", "PrimaryOutcomeMeasure SecondaryOutcomeMeasure"
_LOCN = "LocationCity LocationState LocationCountry LocationFacility LocationZip"
BASIC = _area("BasicSearch", "Other terms", _OTHER)
#: ``query.*`` parameter -> its search area (a subset of the real areas' pieces).
AREAS: dict[str, SearchArea] = {
    "query.cond": _area("ConditionSearch", "Conditions", _COND),
    "query.intr": _area("InterventionSearch", "Interventions", _INTR),
    "query.term": BASIC,
    "query.titles": _area("TitleSearch", "Titles", "Acronym BriefTitle OfficialTitle"),
    "query.locn": _area("LocationSearch", "Location terms", _LOCN),
    "query.spons": _area("SponsorSearch", "Sponsor", f"LeadSponsorName CollaboratorName {_ORG}"),
    "query.lead": _area("LeadSponsorName", "Lead sponsor", "LeadSponsorName"),
    "query.id": _area("IdSearch", "Study IDs", "NCTId NCTIdAlias Acronym OrgStudyId SecondaryId"),
    "query.outc": _area("OutcomeSearch", "Outcome", _OUTC),
    "query.patient": _area("PatientSearch", "Patient", f"{_OTHER} LocationStatus"),
}
_AREAS_CI = {a.name.lower(): a for a in AREAS.values()}

# -- study view --------------------------------------------------------------------------


def _walk(node: Any, path: tuple[str, ...], i: int, out: list[Any]) -> None:
    if node is None:
        return
    if isinstance(node, list):
        for item in node:
            _walk(item, path, i, out)
    elif i == len(path):
        out.append(node)
    elif isinstance(node, dict):
        _walk(node.get(path[i]), path, i + 1, out)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif node is not None:
        yield node if isinstance(node, str) else _text(node)


def _text(value: Any) -> str:
    """A non-string value as text: ``True`` -> ``'true'``, ``900`` -> ``'900'``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


class StudyView:
    """A study record with memoised piece values and area texts (records are read-only)."""

    __slots__ = ("_texts", "_values", "record")

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self._values: dict[str, list[Any]] = {}
        self._texts: dict[str, str] = {}

    def _extract(self, piece: Piece) -> list[Any]:
        out: list[Any] = []
        _walk(self.record, piece.path, 0, out)
        return out

    def values(self, piece: Piece) -> list[Any]:
        """The piece's values (one per list element on the way); empty when missing."""
        found = self._values.get(piece.name)
        if found is None:
            found = self._values[piece.name] = self._extract(piece)
        return found

    def strings(self, piece: Piece) -> list[str]:
        """The piece's values as text (struct pieces: all their string leaves)."""
        values = self.values(piece)
        if piece.kind == "struct":
            return [s for v in values for s in _strings(v)]
        return [v if isinstance(v, str) else _text(v) for v in values]

    def text(self, area: SearchArea) -> str:
        """All of the area's texts, lower-cased and NUL-joined, for substring search."""
        found = self._texts.get(area.name)
        if found is None:
            found = "\0".join(s for p in area.pieces for s in self.strings(p)).lower()
            self._texts[area.name] = found
        return found

    def locations(self) -> list[StudyView]:
        """One view per site, for ``SEARCH[Location](...)``."""
        return [_SiteView(self, site) for site in self.values(PIECES["Location"])]


class _SiteView(StudyView):
    """A study seen through one site: location pieces come from that site only."""

    __slots__ = ("parent", "site")

    def __init__(self, parent: StudyView, site: Any) -> None:
        self.record, self.parent, self.site = parent.record, parent, site

    def values(self, piece: Piece) -> list[Any]:
        if piece.path[: len(LOCATIONS)] != LOCATIONS:
            return self.parent.values(piece)
        out: list[Any] = []
        _walk(self.site, piece.path[len(LOCATIONS):], 0, out)
        return out

    def text(self, area: SearchArea) -> str:
        return "\0".join(s for p in area.pieces for s in self.strings(p)).lower()

    def locations(self) -> list[StudyView]:
        return [self]


# -- values: ages, dates, distances ------------------------------------------------------

_AGE_UNITS = {
    "year": 365.25, "month": 30.4375, "week": 7.0, "day": 1.0, "hour": 1 / 24, "minute": 1 / 1440,
}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
EARTH_MI, EARTH_KM = 3958.8, 6371.0
KM_PER_MI = EARTH_KM / EARTH_MI
_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"
_DISTANCE = re.compile(rf"^{_NUM},{_NUM},{_NUM}(km|mi)?\s*$")


def age_days(text: str, default_unit: str | None = None) -> float | None:
    """``'18 Years'`` -> 6574.5 (days); None when it is not an age."""
    match = _AGE.match(text)
    if not match:
        return None
    unit = (match.group(2) or default_unit or "").lower()
    unit = unit.removesuffix("s")
    factor = _AGE_UNITS.get(unit)
    return None if factor is None else float(match.group(1)) * factor


def date_key(text: str, high: bool = False) -> str | None:
    """A partial date padded to a full one (the start of its period, or the end if ``high``)."""
    if not _DATE.match(text):
        return None
    if len(text) == 4:
        return text + ("-12-31" if high else "-01-01")
    if len(text) == 7:
        return text + ("-31" if high else "-01")
    return text


def parse_distance(text: str) -> tuple[float, float, float] | None:
    """``'42.36,-71.06,50mi'`` -> (lat, lon, miles); a bare radius is in meters."""
    match = _DISTANCE.match(text)
    if not match:
        return None
    lat, lon, radius, unit = float(match[1]), float(match[2]), float(match[3]), match[4]
    if radius < 0:
        return None
    if unit != "mi":
        radius = radius / KM_PER_MI if unit == "km" else radius / 1000 / KM_PER_MI  # meters
    return lat, lon, radius


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles (earth radius 3958.8 mi)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_MI * math.asin(min(1.0, math.sqrt(a)))


def near(points: Iterable[Any], lat: float, lon: float, miles: float) -> bool:
    """Whether any ``{lat, lon}`` point lies within ``miles`` of (lat, lon)."""
    band = miles / 69.0 + 0.01  # degrees of latitude: a cheap first cut
    for point in points:
        try:
            plat, plon = float(point["lat"]), float(point["lon"])
        except (TypeError, KeyError, ValueError):
            continue
        if abs(plat - lat) <= band and haversine_miles(lat, lon, plat, plon) <= miles:
            return True
    return False


# -- tokens --------------------------------------------------------------------------------


class EssieError(ValueError):
    """A query the API would reject; ``str()`` is the part after ``Error parsing query in X: ``."""


@dataclass(frozen=True)
class Tok:
    kind: str  # WORD PHRASE ( ) [ ] AND OR NOT ALL MISSING FUNC EOF
    text: str
    arg: str = ""


_FUNCS = {"AREA", "SEARCH", "RANGE", "COVERAGE", "COVER", "EXPANSION", "TILT", "DISTANCE"}
_KEYWORDS = {"AND", "OR", "NOT", "ALL", "MISSING"}
_STOP = set(' \t\r\n,()[]"')
_START = "{'(', 'NOT', 'AREA[', 'SEARCH[', TERM, QUOTED_STRING, 'ALL', 'MISSING'}"
_AFTER = "{<EOF>, 'AND', 'OR', 'NOT', '(', TERM, QUOTED_STRING}"


def _mismatch(got: str, expecting: str = _START) -> EssieError:
    return EssieError(f"mismatched input '{got}' expecting {expecting}")


def tokenize(text: str) -> list[Tok]:
    """Split an Essie expression into tokens; unbalanced quotes or brackets raise."""
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n,":
            i += 1
        elif ch in "()[]":
            toks.append(Tok(ch, ch))
            i += 1
        elif ch == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise _mismatch('"' + "".join(buf))
            toks.append(Tok("PHRASE", "".join(buf)))
            i = j + 1
        else:
            j, buf, escaped = i, [], False
            while j < n and text[j] not in _STOP:
                if text[j] == "\\" and j + 1 < n:
                    j, escaped = j + 1, True
                buf.append(text[j])
                j += 1
            word = "".join(buf)
            if not escaped and word in _FUNCS and j < n and text[j] == "[":
                close = text.find("]", j)
                if close < 0:
                    raise _mismatch("[", "']'")
                toks.append(Tok("FUNC", word, text[j + 1: close].strip()))
                j = close + 1
            elif not escaped and word in _KEYWORDS:
                toks.append(Tok(word, word))
            else:
                toks.append(Tok("WORD", word))
            i = j
    toks.append(Tok("EOF", "<EOF>"))
    return toks


# -- syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """An Essie syntax node: ``op`` is OR, AND, NOT, TERM, PHRASE, ALL, MISSING or a FUNC name."""

    op: str
    kids: tuple[Node, ...] = ()
    text: str = ""


class _Parser:
    """Precedence, high to low: terms and source operators; NOT and context operators; AND; OR."""

    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek().kind != "EOF":
            raise _mismatch(self.peek().text, _AFTER)
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Node("OR", tuple(items))

    def and_expr(self) -> Node:
        items = [self.unary()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.take()
            elif kind not in ("NOT", "FUNC", "(", "WORD", "PHRASE", "ALL", "MISSING"):
                break
            items.append(self.unary())
        return items[0] if len(items) == 1 else Node("AND", tuple(items))

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "NOT":
            self.take()
            return Node("NOT", (self.unary(),))
        if tok.kind == "FUNC" and tok.text not in ("RANGE", "DISTANCE"):
            self.take()
            return Node(tok.text, (self.unary(),), tok.arg)
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "(":
            node = self.or_expr()
            if self.peek().kind != ")":
                raise _mismatch(self.peek().text, "')'")
            self.take()
            return node
        if tok.kind == "WORD":
            return Node("TERM", text=tok.text)
        if tok.kind == "PHRASE":
            return Node("PHRASE", text=tok.text)
        if tok.kind in ("ALL", "MISSING"):
            return Node(tok.kind)
        if tok.kind == "FUNC":  # RANGE or DISTANCE
            return Node(tok.text, text=tok.arg)
        raise _mismatch(tok.text)


def parse(text: str) -> Node:
    """The syntax tree of an Essie expression; EssieError if it does not parse."""
    return _Parser(text).parse()


# -- evaluation ------------------------------------------------------------------------------

Pred = Callable[[StudyView], bool]
Target = SearchArea | Piece
_COVERAGE = {"fullmatch": "full", "startswith": "start", "endswith": "end", "contains": "contains"}


def _text_test(needle: str, coverage: str) -> Callable[[str], bool]:
    needle = needle.lower()
    if coverage == "full":
        return lambda s: s.lower() == needle
    if coverage == "start":
        return lambda s: s.lower().startswith(needle)
    if coverage == "end":
        return lambda s: s.lower().endswith(needle)
    return lambda s: needle in s.lower()


class _Compiler:
    """Turns a syntax tree into a predicate; the target is the area or piece terms search."""

    def compile(self, node: Node, target: Target, coverage: str) -> Pred:
        op = node.op
        if op in ("AND", "OR"):
            preds = [self.compile(k, target, coverage) for k in node.kids]
            if op == "AND":
                return lambda v: all(p(v) for p in preds)
            return lambda v: any(p(v) for p in preds)
        if op == "NOT":
            inner = self.compile(node.kids[0], target, coverage)
            return lambda v: not inner(v)
        if op == "ALL":
            return lambda v: True
        if op in ("TERM", "PHRASE"):
            return self.term(node.text, target, coverage)
        if op == "MISSING":
            pieces = target.pieces if isinstance(target, SearchArea) else (target,)
            return lambda v: not any(v.values(p) for p in pieces)
        if op == "RANGE":
            return self.range(node.text, target)
        if op == "DISTANCE":
            return self.distance(node.text, target)
        child = node.kids[0]
        if op == "AREA":
            name = node.text
            found: Target | None = resolve_piece(name) or _AREAS_CI.get(name.strip().lower())
            if found is None:
                raise EssieError(f"Unknown area name: `{name}`")
            return self.compile(child, found, coverage)
        if op == "SEARCH":
            scope = node.text.strip().lower()
            inner = self.compile(child, target, coverage)
            if scope == "study":
                return inner
            if scope == "location":
                return lambda v: any(inner(site) for site in v.locations())
            raise EssieError(f"Unknown search name: `{node.text}`")
        if op in ("COVERAGE", "COVER"):
            mode = _COVERAGE.get(node.text.strip().lower())
            if mode is None:
                raise EssieError(f"Invalid coverage: {node.text}")
            return self.compile(child, target, mode)
        return self.compile(child, target, coverage)  # EXPANSION, TILT: no effect on matching

    def term(self, text: str, target: Target, coverage: str) -> Pred:
        if isinstance(target, SearchArea):
            if coverage == "contains":
                needle = text.lower()
                return lambda v: needle in v.text(target)
            test = _text_test(text, coverage)
            return lambda v: any(test(s) for p in target.pieces for s in v.strings(p))
        piece = target
        if piece.kind == "enum":
            wanted = text.strip().upper()
            if piece.enum and wanted not in piece.enum:
                allowed = ", ".join(f"`{e}`" for e in piece.enum)
                raise EssieError(f"Allowed values for enum field `{piece.dotted}` are {allowed}")
            return lambda v: any(str(x).upper() == wanted for x in v.values(piece))
        if piece.kind == "date":
            return lambda v: any(str(x).startswith(text) for x in v.values(piece))
        if piece.kind == "number":
            number = _number(text)
            return lambda v: any(_number(str(x)) == number for x in v.values(piece))
        if piece.kind == "age":
            days = _age_or_fail(text)
            return lambda v: any(age_days(str(x)) == days for x in v.values(piece))
        if piece.kind == "bool":
            flag = text.strip().lower()
            if flag not in ("true", "false"):
                raise EssieError(f"Invalid boolean value: `{text}`")
            return lambda v: any(str(x).lower() == flag for x in v.values(piece))
        if piece.kind == "geo":
            raise EssieError(f"Use DISTANCE[lat,lon,radius] with `{piece.name}`")
        test = _text_test(text, coverage)
        return lambda v: any(test(s) for s in v.strings(piece))

    def range(self, arg: str, target: Target) -> Pred:
        if isinstance(target, SearchArea):
            raise EssieError(f"RANGE needs a field, not the search area `{target.name}`")
        piece = target
        parts = [p.strip() for p in arg.split(",")]
        if len(parts) != 2 or not all(parts):
            raise EssieError(f"Invalid range: [{arg}]")
        key = _RANGE_KEYS.get(piece.kind)
        if key is None:
            raise EssieError(f"RANGE is not supported on field `{piece.name}`")
        bounds: list[Any] = []
        for part, high in zip(parts, (False, True), strict=False):
            value = None if part.upper() in ("MIN", "MAX") else key(part, high)
            if value is None and part.upper() not in ("MIN", "MAX"):
                raise EssieError(f"Invalid value `{part}` in RANGE for field `{piece.name}`")
            bounds.append(value)
        lo, hi = bounds

        def inside(v: StudyView) -> bool:
            for raw in v.values(piece):
                value = key(str(raw), False)
                if value is None:
                    continue
                if (lo is None or lo <= value) and (hi is None or value <= hi):
                    return True
            return False

        return inside

    def distance(self, arg: str, target: Target) -> Pred:
        if not isinstance(target, Piece) or target.kind != "geo":
            raise EssieError("DISTANCE can only be used with LocationGeoPoint")
        parsed = parse_distance(arg)
        if parsed is None:
            raise EssieError(f"Invalid distance: [{arg}]")
        lat, lon, miles = parsed
        piece = target
        return lambda v: near(v.values(piece), lat, lon, miles)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


#: How RANGE reads a bound or a value of each kind of piece: (text, is_upper_bound) -> key.
_RANGE_KEYS: dict[str, Callable[[str, bool], Any]] = {
    "date": date_key,
    "number": lambda text, high: _number(text),
    "age": lambda text, high: age_days(text, "years"),
    "text": lambda text, high: text.lower(),
    "enum": lambda text, high: text.lower(),
}


def _age_or_fail(text: str) -> float:
    days = age_days(text, "years")
    if days is None:
        raise EssieError(f"Invalid age value: `{text}`")
    return days


def compile_query(text: str, default: SearchArea = BASIC) -> Pred:
    """A predicate over StudyView for an Essie expression; bare terms search ``default``."""
    return _Compiler().compile(parse(text), default, "contains")


def referenced_pieces(text: str) -> list[Piece]:
    """The pieces named in ``AREA[...]`` of a (valid) expression, for ``fields=@query``."""
    found: list[Piece] = []

    def visit(node: Node) -> None:
        if node.op == "AREA":
            piece = resolve_piece(node.text)
            area = _AREAS_CI.get(node.text.strip().lower())
            found.extend([piece] if piece else area.pieces if area else ())
        for kid in node.kids:
            visit(kid)

    visit(parse(text))
    return found
