"""Ranking trials by their nearest *recruiting* site.

The API matches a study when any of its sites lies inside the radius, then
returns every site worldwide in registration order. Here each study gets the
nearest site that is inside the radius *and* open to the requested statuses;
a study with none is not an option for the patient and is left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .drugclasses import matched_drugs
from .models import Site, Trial, nulls
from .query import KM_PER_MILE, STUDY_ONLY_STATUSES, Query

EARTH_RADIUS_MI = 3958.8


def haversine_mi(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_MI * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class NearbySite:
    """A qualifying site and its distance from the searched place."""

    site: Site
    distance_mi: float | None  # None in a region search
    status: str

    @property
    def distance_km(self) -> float | None:
        return None if self.distance_mi is None else self.distance_mi * KM_PER_MILE

    def as_dict(self) -> dict[str, Any]:
        s = self.site
        return nulls({
            "facility": s.facility, "city": s.city, "state": s.state, "zip": s.zip,
            "country": s.country, "status": self.status, "lat": s.lat, "lon": s.lon,
            "distance_mi": None if self.distance_mi is None else round(self.distance_mi, 1),
            "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
        })


@dataclass(frozen=True)
class Match:
    """A trial in the results, with why it is there."""

    trial: Trial
    matched_drugs: tuple[str, ...] = ()
    nearby: tuple[NearbySite, ...] = ()  # qualifying sites in the radius, nearest first

    @property
    def nearest(self) -> NearbySite | None:
        return self.nearby[0] if self.nearby else None

    def as_dict(self, near: bool = True) -> dict[str, Any]:
        data = self.trial.as_dict()
        data["matched_drugs"] = list(self.matched_drugs)
        data["sites_in_radius"] = len(self.nearby) if near else None
        data["nearest_site"] = self.nearest.as_dict() if self.nearest else None
        return data


def raw_site_filter(query: Query) -> Callable[[Mapping[str, Any]], bool]:
    """A cheap test on a raw API location: could it be a qualifying site for ``query``?

    Keeps sites inside the radius (status is judged later, against the parsed
    study); without a place no site is needed at all. Runs for every site of
    every study, so it first drops sites outside the band of latitude the
    radius allows: a great circle is never shorter than its north-south part.
    """
    place = query.place
    if query.region is not None:
        contains = query.region.contains
        return lambda location: contains(location.get("state"), location.get("country"))
    if place is None:
        return lambda location: False
    limit = query.radius.miles
    lat0, lon0 = place.lat, place.lon
    band = limit / (EARTH_RADIUS_MI * math.pi / 180) + 1e-9  # degrees of latitude

    def keep(location: Mapping[str, Any]) -> bool:
        geo: Any = location.get("geoPoint")
        if type(geo) is not dict:  # JSON objects are dicts; isinstance(Mapping) is slow here
            return False
        lat: Any = geo.get("lat")
        lon: Any = geo.get("lon")
        if type(lat) not in (int, float) or type(lon) not in (int, float):  # not bool
            return False
        if not abs(lat - lat0) <= band:  # also drops inf and nan
            return False
        return haversine_mi(lat0, lon0, lat, lon) <= limit

    return keep


# A site status no later study status can undo: such a site stays closed.
CLOSED_SITE_STATUSES = frozenset({"WITHDRAWN", "TERMINATED", "COMPLETED"})


def site_status(site: Site, trial: Trial) -> str:
    """A site's own status, or the study's overall status when the site has none.

    A study whose status exists only for whole studies (UNKNOWN, WITHHELD, ...) lends
    it to its sites, whose own statuses are stale; a site withdrawn, terminated or
    completed stays so.
    """
    if trial.status in STUDY_ONLY_STATUSES and site.status not in CLOSED_SITE_STATUSES:
        return trial.status
    return site.status or trial.status


def qualifying_sites(trial: Trial, query: Query) -> list[NearbySite]:
    """Sites inside the radius whose status is one of the query's, nearest first.

    In a region search: the sites in the region whose status is one of the query's,
    in registry order, without distances.
    """
    place = query.place
    if query.region is not None:
        return region_sites(trial, query)
    if place is None:
        return []
    limit = query.radius.miles
    wanted = set(query.statuses)
    nearby = []
    for site in trial.sites:
        if site.lat is None or site.lon is None:
            continue
        status = site_status(site, trial)
        if wanted and status not in wanted:
            continue
        distance = haversine_mi(place.lat, place.lon, site.lat, site.lon)
        if distance <= limit:
            nearby.append(NearbySite(site, distance, status))
    nearby.sort(key=lambda n: n.distance_mi or 0.0)  # always set here
    return nearby


def region_sites(trial: Trial, query: Query) -> list[NearbySite]:
    """The sites in ``query.region`` whose status is one of the query's."""
    assert query.region is not None
    wanted = set(query.statuses)
    found = []
    for site in trial.sites:
        status = site_status(site, trial)
        if (not wanted or status in wanted) and query.region.contains(site.state, site.country):
            found.append(NearbySite(site, None, status))
    return found


def match(trial: Trial, query: Query) -> Match | None:
    """The trial as a result of ``query``, or None when no qualifying site is near."""
    nearby = qualifying_sites(trial, query)
    if (query.place is not None or query.region is not None) and not nearby:
        return None
    texts = [trial.title, trial.acronym] + [
        name for i in trial.interventions for name in (i.name, *i.other_names)
    ]
    return Match(trial, tuple(matched_drugs(texts, query.drugs)), tuple(nearby))


def _distance(m: Match) -> float:
    nearest = m.nearest
    return math.inf if nearest is None or nearest.distance_mi is None else nearest.distance_mi


def rank(matches: Iterable[Match], sort: str) -> list[Match]:
    """Sort by nearest distance, or newest update/first posting (NCT ID breaks ties)."""
    items = list(matches)
    if sort == "distance":
        items.sort(key=lambda m: (_distance(m), m.trial.nct_id))
    elif sort == "sites":  # a region search: most qualifying sites there first
        items.sort(key=lambda m: (-len(m.nearby), m.trial.nct_id))
    else:
        attr = "last_updated" if sort == "updated" else "first_posted"
        items.sort(key=lambda m: m.trial.nct_id)
        items.sort(key=lambda m: getattr(m.trial, attr), reverse=True)
    return items
