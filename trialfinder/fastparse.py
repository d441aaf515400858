"""A search page decoded straight from the bytes, sites as typed records (msgspec).

A search around a large medical centre receives dozens of sites per study, and
building a dict for every one of them (``json.loads``) and then a ``Site`` was
most of the client's time. Here :func:`decode_page` decodes a ``GET /studies``
body in one pass into small typed records for the locations (other parts of a
study stay plain JSON values), and :func:`trials_from_study` builds the
:class:`~trialfinder.models.Trial` through the same ``Trial.from_api`` and
``Site.from_api`` as before, for the sites inside the radius only. Results are
identical to ``Trial.from_api(record, raw_site_filter(query))``: the tests compare
the two on damaged and random records.

Anything the typed records cannot hold (a location that is not an object, a
``lat`` that is a string, a study that is not an object, ...) makes the whole page
fall back to plain ``json.loads``, so bad records are judged exactly as before
(skipped with a RecordError, or their odd fields read as missing).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from .models import Site, Trial

__all__ = ["Study", "decode_page", "trial_from_study"]


class _Geo(msgspec.Struct, gc=False):
    lat: float | None = None
    lon: float | None = None


class _Location(msgspec.Struct, gc=False):
    facility: str | None = None
    status: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    geoPoint: _Geo | None = None  # noqa: N815 (the API's name)
    contacts: Any = None


_LOCATION_KEYS = tuple(_Location.__struct_fields__)


class _ContactsLocations(msgspec.Struct):
    centralContacts: Any = None  # noqa: N815
    overallOfficials: Any = None  # noqa: N815
    locations: list[_Location] | None = None


# Every module of a v2 protocolSection (ctg-oas-v2.yaml); all but the sites stay plain JSON.
class _Protocol(msgspec.Struct):
    identificationModule: Any = None  # noqa: N815
    statusModule: Any = None  # noqa: N815
    sponsorCollaboratorsModule: Any = None  # noqa: N815
    oversightModule: Any = None  # noqa: N815
    descriptionModule: Any = None  # noqa: N815
    conditionsModule: Any = None  # noqa: N815
    designModule: Any = None  # noqa: N815
    armsInterventionsModule: Any = None  # noqa: N815
    outcomesModule: Any = None  # noqa: N815
    eligibilityModule: Any = None  # noqa: N815
    contactsLocationsModule: _ContactsLocations | None = None  # noqa: N815
    referencesModule: Any = None  # noqa: N815
    ipdSharingStatementModule: Any = None  # noqa: N815


_MODULES = tuple(f for f in _Protocol.__struct_fields__ if f != "contactsLocationsModule")


class Study(msgspec.Struct):
    """One study of a search page, its locations typed; see :func:`trial_from_study`."""

    protocolSection: _Protocol | None = None  # noqa: N815
    derivedSection: Any = None  # noqa: N815
    documentSection: Any = None  # noqa: N815
    resultsSection: Any = None  # noqa: N815
    annotationSection: Any = None  # noqa: N815
    hasResults: Any = None  # noqa: N815


_SECTIONS = tuple(f for f in Study.__struct_fields__ if f != "protocolSection")


class _Page(msgspec.Struct):
    studies: list[Study]
    nextPageToken: Any = None  # noqa: N815
    totalCount: Any = None  # noqa: N815


_DECODER = msgspec.json.Decoder(_Page)


def decode_page(body: bytes) -> Any:
    """A ``GET /studies`` body as ``{"studies": [...], "nextPageToken": ..., "totalCount": ...}``.

    The studies are :class:`Study` records when every one fits them, else the
    plain JSON objects ``json.loads`` gives (so is anything that is not such a page).
    Raises ValueError when the body is not JSON, as ``json.loads`` does.
    """
    try:
        page = _DECODER.decode(body)
    except msgspec.MsgspecError:
        return json.loads(body)
    return {"studies": page.studies, "nextPageToken": page.nextPageToken, "totalCount": page.totalCount}


SiteCache = dict[tuple[Any, ...], Site]


def trial_from_study(
    study: Study,
    point_filter: Callable[[float, float], bool] | None,
    sites_seen: SiteCache | None = None,
    *,
    every_site: bool = False,
) -> Trial:
    """``Trial.from_api`` for a :class:`Study`, keeping the sites ``point_filter`` accepts.

    Same result as ``Trial.from_api(record, raw_site_filter(query))`` on the plain
    record, when ``point_filter`` is ``point_filter(query)`` (None keeps no site),
    and as ``Trial.from_api(record)`` with ``every_site``; raises RecordError for
    the same records. ``sites_seen``, kept across the
    studies of a search, shares one (frozen) Site between the studies that list
    the same location: a big centre is in hundreds of trials, so this saves
    both the parsing and the memory.
    """
    protocol = study.protocolSection
    if protocol is None:
        return Trial.from_api({})
    raw: dict[str, Any] = {}
    for name in _MODULES:
        value = getattr(protocol, name)
        if value is not None:
            raw[name] = value
    module = protocol.contactsLocationsModule
    if module is not None:  # everything but the locations, as it came
        raw["contactsLocationsModule"] = {
            k: v for k in ("centralContacts", "overallOfficials") if (v := getattr(module, k)) is not None
        }
    record: dict[str, Any] = {"protocolSection": raw}
    for name in _SECTIONS:  # derivedSection carries the condition MeSH terms, ...
        value = getattr(study, name)
        if value is not None:
            record[name] = value
    trial = Trial.from_api(record)
    if module is None or not module.locations or (point_filter is None and not every_site):
        return trial
    sites = []
    for loc in module.locations:
        geo = loc.geoPoint
        lat = lon = None
        if geo is not None:
            lat, lon = geo.lat, geo.lon
        if not every_site and (lat is None or lon is None or not point_filter(lat, lon)):  # type: ignore[misc]
            continue
        if sites_seen is None or loc.contacts is not None:
            sites.append(Site.from_api(_location_dict(loc)))
            continue
        key = (loc.facility, loc.status, loc.city, loc.state, loc.zip, loc.country, lat, lon)
        site = sites_seen.get(key)
        if site is None:
            site = sites_seen[key] = Site.from_api(_location_dict(loc))
        sites.append(site)
    if not sites:
        return trial
    return _with_sites(trial, tuple(sites))


def _location_dict(loc: _Location) -> Mapping[str, Any]:
    data = {k: v for k in _LOCATION_KEYS if (v := getattr(loc, k)) is not None}
    geo = loc.geoPoint
    if geo is not None:
        data["geoPoint"] = {"lat": geo.lat, "lon": geo.lon}
    return data


def _with_sites(trial: Trial, sites: tuple[Site, ...]) -> Trial:
    from dataclasses import replace

    return replace(trial, sites=sites)
