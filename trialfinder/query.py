"""A trial search as the user means it, and its translation into API v2 parameters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from . import essie
from .drugclasses import Drug, DrugClass
from .exceptions import InputError

if TYPE_CHECKING:
    from .places import Place
    from .regions import Region

DEFAULT_CONDITION = "multiple sclerosis"
DEFAULT_STATUSES = ("RECRUITING",)
KM_PER_MILE = 1.609344
MAX_RADIUS_MI = 12_500.0  # half the Earth's circumference: anything larger is a typo

STATUSES = (
    "RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING",
    "COMPLETED", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
)
# Statuses of a whole study that no site ever has (the spec's RecruitmentStatus enum
# lacks them): a site of such a study is judged by the study's status (ranking.site_status).
STUDY_ONLY_STATUSES = frozenset(
    {"UNKNOWN", "WITHHELD", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING"}
)
STATUS_GROUPS = {"open": ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION")}
PHASES = ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA")
SEXES = ("female", "male")

# The projection the search output needs (REFERENCE.md s4.2). Site contacts are
# deliberately absent: the summary does not show them, and they triple the size.
# Keyword and the condition MeSH terms decide whether a trial is on condition (conditions.py).
SEARCH_FIELDS = (
    "NCTId", "BriefTitle", "Acronym", "OverallStatus", "Phase", "StudyType", "Condition",
    "Keyword", "ConditionMeshTerm", "ConditionAncestorTerm",
    "InterventionName", "InterventionType", "InterventionOtherName", "LeadSponsorName",
    "MinimumAge", "MaximumAge", "Sex", "StudyFirstPostDate", "LastUpdatePostDate",
    "LocationFacility", "LocationCity", "LocationState", "LocationZip", "LocationCountry",
    "LocationStatus", "LocationGeoPoint",
)
SORTS = {"distance": None, "updated": "LastUpdatePostDate:desc", "posted": "StudyFirstPostDate:desc",
         "sites": None}  # "sites": most qualifying sites in the region first (a region search)


@dataclass(frozen=True)
class Radius:
    """A search radius with the unit the user gave."""

    value: float
    unit: str = "mi"

    @property
    def miles(self) -> float:
        return self.value if self.unit == "mi" else self.value / KM_PER_MILE

    def __str__(self) -> str:
        return f"{_number(self.value)} {self.unit}"

    def api(self) -> str:
        """``'100mi'``: the unit is always sent, since a bare number means meters."""
        return f"{_number(self.value)}{self.unit}"


def parse_radius(text: str | float) -> Radius:
    """``'100mi'``, ``'150 km'``, ``'25'`` (miles) -> Radius; InputError otherwise."""
    match = re.fullmatch(
        r"\s*(\d+(?:\.\d+)?)\s*(mi|miles?|km|kilomet(?:er|re)s?)?\s*", str(text), re.I
    )
    if not match:
        raise InputError(f"radius {str(text)!r} is not a distance like 100mi, 150km or 50")
    value = float(match.group(1))
    unit = "km" if (match.group(2) or "mi").lower().startswith("k") else "mi"
    radius = Radius(value, unit)
    if value <= 0:
        raise InputError(f"radius {str(text)!r} must be greater than zero")
    if radius.miles > MAX_RADIUS_MI:
        raise InputError(f"radius {str(text)!r} is larger than the Earth allows ({MAX_RADIUS_MI:,.0f} mi)")
    return radius


def parse_statuses(values: Iterable[str]) -> tuple[str, ...]:
    """``['recruiting', 'not-yet-recruiting']`` or ``['open']`` -> API status values.

    ``'any'`` anywhere means no status filter at all (an empty tuple).
    """
    result: list[str] = []
    for value in values:
        for part in re.split(r"[,|]", value):
            key = part.strip().lower()
            if not key:
                continue
            if key == "any":
                return ()
            expanded = STATUS_GROUPS.get(key) or (key.upper().replace("-", "_").replace(" ", "_"),)
            for status in expanded:
                if status not in STATUSES:
                    choices = ", ".join(["open", *(s.lower().replace("_", "-") for s in STATUSES)])
                    raise InputError(f"unknown status {part.strip()!r}; choose from {choices}")
                if status not in result:
                    result.append(status)
    return tuple(result)


def parse_phases(values: Iterable[str]) -> tuple[str, ...]:
    """``['2', '3']``, ``['phase2']``, ``['early-1']``, ``['na']`` -> API phase values."""
    result: list[str] = []
    for value in values:
        # "2/3" is two phases, but "n/a" is one (the slash would split it into "n" and "a").
        for part in re.split(r"[,|/]", re.sub(r"(?i)\bn/a\b", "na", value)):
            key = re.sub(r"[\s_\-]", "", part.strip().upper())
            if not key:
                continue
            key = key.removeprefix("PHASE")
            phase = {"EARLY1": "EARLY_PHASE1", "EARLYPHASE1": "EARLY_PHASE1", "0": "EARLY_PHASE1",
                     "NA": "NA"}.get(key, f"PHASE{key}")
            if phase not in PHASES:
                raise InputError(f"unknown phase {part.strip()!r}; choose from early-1, 1, 2, 3, 4, na")
            if phase not in result:
                result.append(phase)
    return tuple(result)


@dataclass(frozen=True)
class Query:
    """What to search for. Build with keyword arguments; all fields are optional."""

    condition: str = DEFAULT_CONDITION
    interventions: tuple[str, ...] = ()
    drug_class: DrugClass | None = None
    term: str = ""
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    phases: tuple[str, ...] = ()
    age: int | None = None
    sex: str | None = None
    place: Place | None = None
    region: Region | None = None  # instead of a place: trials with a qualifying site in it
    radius: Radius = field(default_factory=lambda: Radius(100.0))
    sort: str = "distance"
    limit: int | None = None
    include_off_condition: bool = False  # keep trials whose conditions are not the one asked

    def __post_init__(self) -> None:
        if self.age is not None and not 0 <= self.age <= 125:
            raise InputError(f"age {self.age} is not between 0 and 125 years")
        if self.sex is not None and self.sex not in SEXES:
            raise InputError(f"sex {self.sex!r} must be one of: {', '.join(SEXES)}")
        if self.sort not in SORTS:
            raise InputError(f"sort {self.sort!r} must be one of: {', '.join(SORTS)}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit {self.limit} must be at least 1")
        for status in self.statuses:
            if status not in STATUSES:
                raise InputError(f"unknown status {status!r}")
        if any(self._id_groups()) and not self.nct_ids:
            raise InputError("the NCT IDs given as --condition, --term or --intervention have none in common")

    def with_(self, **changes: object) -> Query:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def drugs(self) -> list[Drug]:
        """The drugs a trial may match: the class's members, then the named interventions."""
        members = list(self.drug_class.members) if self.drug_class else []
        return members + [Drug(name, (), False, "--intervention") for name in self.interventions]

    @property
    def effective_sort(self) -> str:
        """Distance sorting needs a place; without one, the most recently updated come first."""
        if self.sort == "distance" and self.region is not None:
            return "sites"
        return "updated" if self.sort == "distance" and self.place is None else self.sort

    @property
    def nct_ids(self) -> tuple[str, ...]:
        """NCT IDs given as the whole text of the condition, the term or the interventions.

        A ``query.*`` value of only NCT IDs makes the registry ignore every filter
        (REFERENCE.md s3), so such text is sent as ``filter.ids`` instead, with the
        filters kept. IDs from several texts must all hold: their intersection.
        """
        groups = [g for g in self._id_groups() if g]
        return tuple(i for i in groups[0] if all(i in g for g in groups[1:])) if groups else ()

    def _id_groups(self) -> list[tuple[str, ...]]:
        groups = [nct_ids_in(t) for t in (self.condition, self.term)]
        if self.interventions and self.drug_class is None:
            groups.append(nct_ids_in(" ".join(self.interventions)))
        return groups

    @property
    def condition_text(self) -> str:
        """The condition as words to search and check trials against ('' for an NCT ID)."""
        return "" if nct_ids_in(self.condition) else self.condition

    def params(self) -> dict[str, str]:
        """The ``GET /studies`` parameters (without paging) that express this query."""
        params: dict[str, str] = {}
        condition = essie.plain_words(self.condition_text)
        if condition:
            params["query.cond"] = condition
        drugs = [] if self.drug_class is None and nct_ids_in(" ".join(self.interventions)) else self.drugs
        intr = essie.any_of([t for d in drugs for t in d.terms])
        if intr:
            params["query.intr"] = intr
        term = "" if nct_ids_in(self.term) else essie.plain_words(self.term)
        if term:
            params["query.term"] = term
        ids = self.nct_ids
        if ids:
            params["filter.ids"] = ",".join(ids)
        if self.statuses:
            params["filter.overallStatus"] = ",".join(self.statuses)
        if self.place is not None:
            params["filter.geo"] = (
                f"distance({_number(self.place.lat, 6)},{_number(self.place.lon, 6)},"
                f"{self.radius.api()})"
            )
        if self.region is not None:  # the region's own spellings, never user text
            params["query.locn"] = self.region.locn()
        advanced = self.advanced_filter()
        if advanced:
            params["filter.advanced"] = advanced
        api_sort = SORTS[self.effective_sort]
        if api_sort:
            params["sort"] = api_sort
        return params

    def advanced_filter(self) -> str:
        """Phase, age and sex as one ``filter.advanced`` Essie expression."""
        parts: list[str] = []
        if self.phases:
            parts.append(f"AREA[Phase]({' OR '.join(self.phases)})")
        if self.age is not None:
            # RANGE never matches a missing value, and a missing bound means no limit.
            years = f"{self.age} years"
            parts.append(f"(AREA[MinimumAge]RANGE[MIN, {years}] OR AREA[MinimumAge]MISSING)")
            parts.append(f"(AREA[MaximumAge]RANGE[{years}, MAX] OR AREA[MaximumAge]MISSING)")
        if self.sex is not None:
            # "ALL" is quoted: bare ALL is Essie's match-every-study operator.
            parts.append(f'(AREA[Sex]{self.sex.upper()} OR AREA[Sex]"ALL" OR AREA[Sex]MISSING)')
        return " AND ".join(parts)

    def describe(self, count: int | None = None) -> str:
        """Every filter in words: ``'recruiting phase 3 multiple sclerosis trials of BTK
        inhibitors open to women aged 45 within 150 mi of Boston'``; with ``count``, that
        number first and the noun singular or plural to match (``'1 recruiting ... trial'``).
        """
        words = [] if count is None else [f"{count:,}"]
        words.append(_either("unknown-status" if s == "UNKNOWN" else s.lower().replace("_", " ")
                             for s in self.statuses))
        if self.phases:
            words.append("phase " + _either(phase_words(p) for p in self.phases))
        words.append(self.condition_text.strip())
        words.append("trial" if count == 1 else "trials")
        what = " ".join(w for w in words if w)
        id_drugs = self.drug_class is None and bool(nct_ids_in(" ".join(self.interventions)))
        names = ([self.drug_class.name] if self.drug_class else []) + ([] if id_drugs else list(self.interventions))
        if names:
            what += " of " + _either(names)
        # NCT IDs given as the condition or the interventions are looked up like a term.
        texts = [self.term.strip(), self.condition.strip() if nct_ids_in(self.condition) else "",
                 " ".join(self.interventions).strip() if id_drugs else ""]
        for text in dict.fromkeys(t for t in texts if t):
            what += f" matching {text!r}"
        if not self.statuses:
            what += " (any status)"
        if self.age is not None or self.sex:
            who = {"female": "women", "male": "men"}.get(self.sex or "", "")
            age = f"people aged {self.age}" if not who else f"aged {self.age}"
            what += " open to " + " ".join(w for w in (who, age if self.age is not None else "") if w)
        if self.place is not None:
            what += f" within {self.radius} of {self.place.name}"
        if self.region is not None:
            what += f" with a site in {self.region.prose_name}"
        return what


def phase_words(phase: str) -> str:
    """``'PHASE2'`` -> ``'2'``, ``'EARLY_PHASE1'`` -> ``'early 1'``, ``'NA'`` -> ``'n/a'``."""
    return {"NA": "n/a", "EARLY_PHASE1": "early 1"}.get(phase, phase.removeprefix("PHASE"))


def _either(items: Iterable[str]) -> str:
    """``['a']`` -> ``'a'``; ``['a', 'b', 'c']`` -> ``'a, b or c'``."""
    values = list(items)
    if len(values) <= 2:
        return " or ".join(values)
    return ", ".join(values[:-1]) + " or " + values[-1]


def build_query(
    *,
    condition: str = DEFAULT_CONDITION,
    interventions: Iterable[str] = (),
    drug_class: str | None = None,
    term: str = "",
    near: str | None = None,
    radius: str | Radius | None = None,
    statuses: Iterable[str] = (),
    phases: Iterable[str] = (),
    age: int | None = None,
    sex: str | None = None,
    sort: str = "distance",
    limit: int | None = None,
    include_off_condition: bool = False,
) -> Query:
    """A Query from the values a person types (CLI options, config keys); InputError if bad.

    The place is resolved here (offline); an ambiguous name leaves a note in ``query.place.note``.
    """
    from .drugclasses import find_drug_class
    from .places import resolve_location
    from .regions import Region

    if radius is not None and near is None:
        raise InputError("--radius needs --near (where to measure from)")
    if isinstance(radius, str):
        radius = parse_radius(radius)
    # Text that cleans to nothing would silently drop its filter and widen the search.
    texts = [("--term", term), *(("--intervention", i) for i in interventions)]
    if condition.strip().lower() not in ("", "any"):
        texts.append(("--condition", condition))
    for option, text in texts:
        if text.strip() and not essie.plain_words(text):
            raise InputError(f"{option} {text!r} has no words to search for")
    status_values = tuple(statuses)
    located = resolve_location(near) if near is not None else None
    if isinstance(located, Region) and radius is not None:
        raise InputError(
            f"--radius does not apply to {located.prose_name}, a region: the search finds "
            "trials with a site anywhere in it; drop --radius, or give a city, a ZIP code "
            "or 'lat,lon' to search by distance"
        )
    return Query(
        condition="" if condition.strip().lower() in ("", "any") else condition,
        interventions=tuple(i for i in interventions if i.strip()),
        drug_class=find_drug_class(drug_class) if drug_class else None,
        term=term,
        statuses=parse_statuses(status_values) if status_values else DEFAULT_STATUSES,
        phases=parse_phases(phases),
        age=age,
        sex=sex.lower() if sex else None,
        place=None if isinstance(located, Region) else located,
        region=located if isinstance(located, Region) else None,
        radius=radius or Radius(100.0),
        sort=sort,
        limit=limit,
        include_off_condition=include_off_condition,
    )


_NCT_ONLY = re.compile(r"^[\s,;|]*(?:[Nn][Cc][Tt]0*[1-9]\d{0,7}[\s,;|]*)+$")


def nct_ids_in(text: str) -> tuple[str, ...]:
    """The NCT IDs when ``text`` is nothing but NCT IDs (``'NCT04458051, nct5147220'``), else ()."""
    if not _NCT_ONLY.match(text):
        return ()
    from .models import normalise_nct_id

    ids: list[str] = []
    for part in re.split(r"[\s,;|]+", text.strip(" ,;|\t\n")):
        nct_id = normalise_nct_id(part)
        if nct_id not in ids:
            ids.append(nct_id)
    return tuple(ids)


def _number(value: float, digits: int = 3) -> str:
    """Fixed-point without trailing zeros and never in exponent form (the API's regex)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
