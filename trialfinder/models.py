"""Typed models pulled explicitly out of ClinicalTrials.gov v2 study records.

Every string is cleaned of terminal escapes and control characters on the way
in (:mod:`trialfinder.text`), so nothing downstream prints raw API text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .exceptions import RecordError
from .text import clean_line, clean_text

STUDY_URL = "https://clinicaltrials.gov/study/{}"
NCT_ID = re.compile(r"^NCT\d{8}$")
_NCT_LOOSE = re.compile(r"^[Nn][Cc][Tt]0*([1-9]\d{0,7})$")


def normalise_nct_id(text: str) -> str:
    """``'nct4458051'`` -> ``'NCT04458051'``; raises ValueError for anything else."""
    match = _NCT_LOOSE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an NCT number (expected NCT and up to 8 digits, e.g. NCT04458051)")
    return "NCT" + match.group(1).zfill(8)


@dataclass(frozen=True)
class Site:
    """One study location as the registry lists it."""

    facility: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    status: str | None = None
    lat: float | None = None
    lon: float | None = None
    contacts: tuple[Contact, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Site:
        geo = _mapping(data.get("geoPoint"))
        lat, lon = _number(geo.get("lat")), _number(geo.get("lon"))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            lat = lon = None
        return cls(
            facility=_line(data.get("facility")),
            city=_line(data.get("city")),
            state=_line(data.get("state")),
            zip=_line(data.get("zip")),
            country=_line(data.get("country")),
            status=_enum(data.get("status")),
            lat=lat,
            lon=lon,
            contacts=tuple(Contact.from_api(c) for c in _list_of_mappings(data.get("contacts"))),
        )

    @property
    def place(self) -> str:
        """``'Boston, Massachusetts, United States'``, skipping empty parts."""
        return ", ".join(p for p in (self.city, self.state, self.country) if p)

    def as_dict(self) -> dict[str, Any]:
        data = nulls(asdict(self))
        data["contacts"] = [c.as_dict() for c in self.contacts]
        return data


@dataclass(frozen=True)
class Contact:
    """A central or site contact."""

    name: str = ""
    role: str = ""
    phone: str = ""
    email: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Contact:
        phone = _line(data.get("phone"))
        ext = _line(data.get("phoneExt"))
        return cls(
            name=_line(data.get("name")),
            role=_line(data.get("role")),
            phone=f"{phone} ext. {ext}" if phone and ext else phone,
            email=_line(data.get("email")),
        )

    def as_dict(self) -> dict[str, Any]:
        return nulls(asdict(self))


@dataclass(frozen=True)
class Intervention:
    """A drug, device or procedure under study, with its other names (code names)."""

    name: str
    type: str = ""
    other_names: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type or None, "other_names": list(self.other_names)}


@dataclass(frozen=True)
class Trial:
    """A study record, reduced to what trialfinder shows and compares."""

    nct_id: str
    title: str = ""
    official_title: str = ""
    acronym: str = ""
    status: str = ""
    phases: tuple[str, ...] = ()
    study_type: str = ""
    conditions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    condition_meshes: tuple[str, ...] = ()  # MeSH terms, then their ancestors
    interventions: tuple[Intervention, ...] = ()
    sponsor: str = ""
    min_age: str = ""
    max_age: str = ""
    sex: str = ""
    healthy_volunteers: bool | None = None
    first_posted: str = ""
    last_updated: str = ""
    why_stopped: str = ""
    summary: str = ""
    eligibility_criteria: str = ""
    central_contacts: tuple[Contact, ...] = ()
    sites: tuple[Site, ...] = field(default=(), repr=False)

    @classmethod
    def from_api(
        cls, study: Mapping[str, Any], site_filter: Callable[[Mapping[str, Any]], bool] | None = None
    ) -> Trial:
        """Build a Trial from one v2 ``Study`` object; raises RecordError without an NCT ID.

        ``site_filter``, given a raw location, says whether to keep it: a search
        parses only the sites that can matter (a study lists up to hundreds).
        """
        if not isinstance(study, dict):
            raise RecordError(f"a study record must be a JSON object, not {type(study).__name__}")
        protocol = _mapping(study.get("protocolSection"))
        ident = _mapping(protocol.get("identificationModule"))
        raw_id = ident.get("nctId")
        if not isinstance(raw_id, str) or not NCT_ID.match(raw_id.strip()):
            raise RecordError(f"study record without a valid nctId: {clean_line(repr(raw_id))[:40]}")
        status = _mapping(protocol.get("statusModule"))
        design = _mapping(protocol.get("designModule"))
        elig = _mapping(protocol.get("eligibilityModule"))
        contacts = _mapping(protocol.get("contactsLocationsModule"))
        arms = _mapping(protocol.get("armsInterventionsModule"))
        sponsor = _mapping(_mapping(protocol.get("sponsorCollaboratorsModule")).get("leadSponsor"))
        healthy = elig.get("healthyVolunteers")
        conditions = _mapping(protocol.get("conditionsModule"))
        browse = _mapping(_mapping(study.get("derivedSection")).get("conditionBrowseModule"))
        return cls(
            nct_id=raw_id.strip(),
            title=_line(ident.get("briefTitle")),
            official_title=_line(ident.get("officialTitle")),
            acronym=_line(ident.get("acronym")),
            status=_enum(status.get("overallStatus")) or "",
            phases=tuple(p for p in map(_enum, _list(design.get("phases"))) if p),
            study_type=_enum(design.get("studyType")) or "",
            conditions=_lines(conditions.get("conditions")),
            keywords=_lines(conditions.get("keywords")),
            condition_meshes=tuple(
                t for key in ("meshes", "ancestors")
                for t in (_line(m.get("term")) for m in _list_of_mappings(browse.get(key))) if t
            ),
            interventions=tuple(
                Intervention(
                    name=_line(i.get("name")),
                    type=_enum(i.get("type")) or "",
                    other_names=_lines(i.get("otherNames")),
                )
                for i in _list_of_mappings(arms.get("interventions"))
                if _line(i.get("name"))
            ),
            sponsor=_line(sponsor.get("name")),
            min_age=_line(elig.get("minimumAge")),
            max_age=_line(elig.get("maximumAge")),
            sex=_enum(elig.get("sex")) or "",
            healthy_volunteers=healthy if isinstance(healthy, bool) else None,
            first_posted=_date(status.get("studyFirstPostDateStruct")),
            last_updated=_date(status.get("lastUpdatePostDateStruct")),
            why_stopped=_line(status.get("whyStopped")),
            summary=_text(_mapping(protocol.get("descriptionModule")).get("briefSummary")),
            eligibility_criteria=_text(elig.get("eligibilityCriteria")),
            central_contacts=tuple(
                Contact.from_api(c) for c in _list_of_mappings(contacts.get("centralContacts"))
            ),
            sites=tuple(
                Site.from_api(s)
                for s in _list_of_mappings(contacts.get("locations"))
                if site_filter is None or site_filter(s)
            ),
        )

    @property
    def url(self) -> str:
        return STUDY_URL.format(self.nct_id)

    @property
    def short_title(self) -> str:
        """The acronym when there is one, else the brief title."""
        return self.acronym or self.title

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, with the field names of the JSON output; a value the
        record lacks is None (``null``), never ``""``."""
        return nulls({
            "nct_id": self.nct_id,
            "title": self.title,
            "acronym": self.acronym,
            "status": self.status,
            "phases": list(self.phases),
            "study_type": self.study_type,
            "conditions": list(self.conditions),
            "interventions": [i.as_dict() for i in self.interventions],
            "sponsor": self.sponsor,
            "min_age": self.min_age,
            "max_age": self.max_age,
            "sex": self.sex,
            "first_posted": self.first_posted,
            "last_updated": self.last_updated,
            "url": self.url,
        })


def nulls(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every empty string as None: JSON says "missing" with ``null``."""
    return {k: None if v == "" else v for k, v in data.items()}


# -- defensive field readers: the spec marks no field as required ------------


# JSON objects arrive as dicts; isinstance(x, dict) is much cheaper than an ABC check,
# and these run for every site of every study.
def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _list_of_mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _list(value) if isinstance(v, dict)]


def _line(value: Any) -> str:
    return clean_line(value) if isinstance(value, str) else ""


def _text(value: Any) -> str:
    return clean_text(value).strip() if isinstance(value, str) else ""


def _lines(value: Any) -> tuple[str, ...]:
    return tuple(s for s in (_line(v) for v in _list(value)) if s)


def _enum(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = clean_line(value).upper()
    return cleaned if re.fullmatch(r"[A-Z0-9_]{1,40}", cleaned) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def _date(value: Any) -> str:
    date = _mapping(value).get("date")
    return clean_line(date) if isinstance(date, str) else ""
