"""Offline place resolution: city names, US ZIP codes and coordinates to a point, and
US states and countries to a :class:`~trialfinder.regions.Region`.

Names are looked up in the place index the package ships (:mod:`trialfinder.placeindex`):
one indexed query per lookup, no geocoding service.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from contextlib import suppress
from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

from .exceptions import PLACE_FORMS, InputError, PlaceNotFound
from .placeindex import (
    COUNTRY_ALIASES,
    RANK_COUNTRY,
    RANK_SUBDIVISION,
    RANK_US_STATE,
    SUBDIVISIONS,
    gazetteer_path,
)
from .placeindex import connect as _gazetteer
from .regions import REGISTRY_COUNTRY_NAMES, Region

__all__ = ["Place", "Region", "gazetteer_path", "normalize_name", "resolve_location",
           "resolve_place"]

MAX_INPUT_LENGTH = 200
PRIMARY_NAME_WEIGHT = 10

_ZIP = re.compile(r"([0-9]{5})(?:-[0-9]{4})?")
_US_ADDRESS = re.compile(r"(.+?[\s,]([A-Za-z]{2}))[\s,]+([0-9]{5})(?:-[0-9]{4})?")
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_COORDINATES = re.compile(rf"({_NUMBER})\s*[,\s]\s*({_NUMBER})")
# Postcodes of other countries, which no offline data here covers: UK "SW1A 1AA",
# Canada "M5V 3L9", the Netherlands "1012 AB", "00-950", and digits that are not 5 long.
_POSTCODES = [
    re.compile(r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}"),
    re.compile(r"[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]"),
    re.compile(r"[0-9]{4} ?[A-Za-z]{2}"),
    re.compile(r"[0-9]{2,5}[- ][0-9]{3}|[0-9]{3}-[0-9]{4}"),
    re.compile(r"[0-9]{3,4}|[0-9]{6,7}"),
]
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# A letter outside the Latin blocks (Basic Latin to Spacing Modifiers, Extended Additional, C-E).
_NON_LATIN_LETTER = re.compile(
    r"[^\W\d_\u0000-\u02ff\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff\uab30-\uab6f]"
)
# Letters that Unicode decomposition does not reduce to ASCII.
_FOLD = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th"}
)
_ABBREVIATIONS = {"saint": "st", "sainte": "ste", "mount": "mt", "fort": "ft"}
_ABBREVIATION = re.compile(r"(?<![a-z0-9])(?:saint|sainte|mount|fort)(?![a-z0-9])")

@dataclass(frozen=True)
class Place:
    """A resolved point, with a display name and a note when the input was ambiguous."""

    name: str
    lat: float
    lon: float
    kind: str  # "city" | "zip" | "coordinates"
    country_code: str | None = None
    population: int | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _City(NamedTuple):
    id: int
    name: str
    lat: float
    lon: float
    cc: str
    admin1: str
    pop: int
    alt: int


_Filter = tuple[str, str]  # (country code, admin1 code or "" for the whole country)


def resolve_location(text: str) -> Place | Region:
    """Like :func:`resolve_place`, but a US state or a country is a :class:`Region`.

    "MA", "Massachusetts", "France", "FR", "UK", "USA" name regions; "New York" and
    "Washington" stay the big cities (a note names the state's code). With a comma the
    text is a city ("Portland, ME").
    """
    cleaned = _clean(text)
    found = _region(_gazetteer(), cleaned)
    if isinstance(found, Place):
        return found
    return found or _point(cleaned)


def resolve_place(text: str) -> Place:
    """Resolve a city ("Boston, MA"), a US ZIP code ("02115") or "lat, lon" to a :class:`Place`.

    Raises :class:`PlaceNotFound` for an unknown place and :class:`InputError` for
    malformed input (empty text, a latitude of 95) and for a region ("MA", "France"),
    which is not a point (see :func:`resolve_location`).
    """
    cleaned = _clean(text)
    found = _region(_gazetteer(), cleaned)
    if isinstance(found, Region):
        raise InputError(
            f"{cleaned!r} is {_region_label(found)}, not a point: give a city in it, "
            + ("a ZIP code " if found.country_code == "US" else "")
            + "or 'latitude, longitude'"
        )
    return found or _point(cleaned)


def _clean(text: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InputError(f"empty place: give {PLACE_FORMS}")
    if len(cleaned) > MAX_INPUT_LENGTH:
        raise InputError(f"place is too long (over {MAX_INPUT_LENGTH} characters)")
    return cleaned


def _point(cleaned: str) -> Place:
    if match := _ZIP.fullmatch(cleaned):
        return _zip_place(cleaned, match[1])
    if match := _COORDINATES.fullmatch(cleaned):
        return _coordinates_place(match[1], match[2])
    if match := _US_ADDRESS.fullmatch(cleaned):  # "Boston, MA 02115": the ZIP is more precise
        with suppress(PlaceNotFound):
            return _zip_place(cleaned, match[3], state=match[2].upper())
        cleaned = match[1]
    elif any(pattern.fullmatch(cleaned) for pattern in _POSTCODES):
        raise InputError(
            f"{cleaned!r} looks like a postcode; only US ZIP codes are understood "
            "(no offline postcode data for other countries): give the city, e.g. "
            "'London, UK', or 'latitude, longitude'"
        )
    return _city_place(_gazetteer(), cleaned)


def normalize_name(text: str) -> str:
    """The lookup key of a name: case, accents, punctuation and spaces folded; Saint = St."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
        text = text.encode("ascii", "ignore").decode()
    text = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m[0]], text.lower().replace("'", ""))
    return _NON_ALNUM.sub("", text)


# --- regions -------------------------------------------------------------------

BIG_CITY = 500_000  # a city this big keeps its name from a US state ("New York")
_KIND_LABELS = {"CA": "a province of Canada", "AU": "a state of Australia"}


def _region(db: sqlite3.Connection, cleaned: str) -> Region | Place | None:
    """The region ``cleaned`` names, or the big city that wins its name, or None."""
    if "," in cleaned or any(ch.isdigit() for ch in cleaned):
        return None
    rows = db.execute(
        "SELECT rank, cc, admin1 FROM regions WHERE key = ? ORDER BY rank, cc, admin1",
        (normalize_name(cleaned),),
    ).fetchall()
    if not rows:
        return None
    rank, cc, admin1 = rows[0]
    country = _label(db, cc, "")
    key = normalize_name(cleaned)
    big = [city for city in _lookup(db, cleaned, None) if city.pop >= BIG_CITY and city.cc == cc]
    if rank != RANK_COUNTRY and big and key == normalize_name(_label(db, cc, admin1)):
        # "New York", "Washington", "Quebec" written out: the big city of that name there
        place = _city_result(db, cleaned, big)
        code = admin1 if cc == "US" else _subdivision_code(cc, admin1)
        also = f"'{cleaned}' is also {_describe(db, rank, cc, admin1)}"
        if rank == RANK_US_STATE:
            also += f": for trials anywhere in it, use '{code}'"
        return replace(place, note=" ".join(filter(None, [place.note, also + "."])))
    if rank == RANK_SUBDIVISION and cc != "GB":
        example = db.execute(
            "SELECT name FROM cities WHERE cc = ? AND admin1 = ? ORDER BY pop DESC LIMIT 1",
            (cc, admin1),
        ).fetchone()
        city = f"'{example[0]}, {_subdivision_code(cc, admin1)}'" if example else "a city"
        raise InputError(
            f"{cleaned!r} is {_describe(db, rank, cc, admin1)}: search a city in it with a "
            f"radius (e.g. {city}), or the whole country ('{country}'); for a town of that "
            "name, add its state or country"
        )
    others = [f"{_describe(db, *row)} (write '{_spell_out(db, key, *row)}')"
              for row in rows[1:] if row[0] != RANK_SUBDIVISION]
    note = None
    if rank == RANK_SUBDIVISION:  # England, Scotland, Wales, Northern Ireland
        note = (f"'{cleaned}' is searched as the whole {country}: the registry records a "
                "site's country, not the part of it")
    elif others:
        note = f"'{cleaned}' is read as {_describe(db, rank, cc, admin1)}; it may also mean " \
               + " or ".join(others)
    if rank == RANK_US_STATE:
        state = _label(db, cc, admin1)
        return Region(name=f"{state}, {country}", kind="state", country_code=cc,
                      spellings=(state,), state_code=admin1, note=note, aliases=(admin1,))
    spellings = tuple(dict.fromkeys([country, *REGISTRY_COUNTRY_NAMES.get(cc, ())]))
    return Region(name=country, kind="country", country_code=cc, spellings=spellings,
                  note=note, aliases=(cc, *COUNTRY_ALIASES.get(cc, ())))


def _label(db: sqlite3.Connection, cc: str, admin1: str) -> str:
    row = db.execute("SELECT name FROM labels WHERE cc = ? AND admin1 = ?", (cc, admin1)).fetchone()
    return row[0] if row else cc


def _spell_out(db: sqlite3.Connection, key: str, rank: int, cc: str, admin1: str) -> str:
    """How to name this region unambiguously: its full name, or its code if that was typed."""
    name = _label(db, cc, admin1 if rank != RANK_COUNTRY else "")
    if normalize_name(name) != key:
        return name
    return admin1 if rank == RANK_US_STATE else cc


def _describe(db: sqlite3.Connection, rank: int, cc: str, admin1: str) -> str:
    """``'the US state Georgia'``, ``'the country Georgia'``, ``'a province of Canada'``."""
    if rank == RANK_US_STATE:
        return f"the US state {_label(db, cc, admin1)}"
    if rank == RANK_COUNTRY:
        return f"the country {_label(db, cc, '')}"
    return f"{_label(db, cc, admin1)}, " + _KIND_LABELS.get(cc, f"part of {_label(db, cc, '')}")


def _subdivision_code(cc: str, admin1: str) -> str:
    return next((code for code, (a1, _) in SUBDIVISIONS.get(cc, {}).items() if a1 == admin1), admin1)


def _region_label(region: Region) -> str:
    return f"the US state {region.short_name}" if region.kind == "state" else f"the country {region.name}"


# --- ZIP codes and coordinates ---------------------------------------------


def _zip_place(text: str, zip5: str, state: str | None = None) -> Place:
    rows = _gazetteer().execute(
        "SELECT state, city, lat / 1e5, lon / 1e5 FROM zips WHERE zip = ? ORDER BY seq", (zip5,)
    )
    for hit_state, city, lat, lon in rows:
        if state is None or hit_state == state:
            return Place(name=f"{zip5} ({city}, {hit_state})", lat=lat, lon=lon, kind="zip",
                         country_code="US")
    raise PlaceNotFound(text, [])


def _coordinates_place(lat_text: str, lon_text: str) -> Place:
    lat, lon = float(lat_text), float(lon_text)
    if not -90 <= lat <= 90:
        raise InputError(
            f"latitude {lat_text} is out of range: it must be between -90 and 90 "
            "(give latitude first, then longitude)"
        )
    if not -180 <= lon <= 180:
        raise InputError(f"longitude {lon_text} is out of range: it must be between -180 and 180")
    return Place(name=f"{_format_degrees(lat)}, {_format_degrees(lon)}", lat=lat, lon=lon,
                 kind="coordinates")


def _format_degrees(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("0", "-0") else text


# --- city names --------------------------------------------------------------


def _city_place(db: sqlite3.Connection, text: str) -> Place:
    head, *rest = (part.strip() for part in text.split(","))
    if not head:
        raise InputError(f"no place name before the comma in {text!r}")
    qualifiers = [part for part in rest if part]
    filters = _qualifier_filters(db, head, qualifiers, text) if qualifiers else None
    # Without a comma, the last word(s) may be the qualifier: "boston ma", "paris texas".
    attempts: list[tuple[str, list[_Filter] | None]] = [(head, filters)]
    words = head.split()
    for size in range(1, min(3, len(words) - 1) + 1):
        region = _regions(db, " ".join(words[-size:]))
        combined = region if filters is None else _intersect(filters, region)
        if combined:
            attempts.append((" ".join(words[:-size]), combined))
    for name, name_filters in attempts:
        if hits := _lookup(db, name, name_filters):
            return _city_result(db, text, hits)
    name, name_filters = attempts[1] if len(attempts) > 1 else attempts[0]
    raise PlaceNotFound(text, _suggest(db, name, name_filters))


def _qualifier_filters(
    db: sqlite3.Connection, head: str, qualifiers: list[str], text: str
) -> list[_Filter]:
    """The regions every qualifier allows, most likely reading first."""
    filters: list[_Filter] | None = None
    for qualifier in qualifiers:
        region = _regions(db, qualifier)
        if not region:
            raise PlaceNotFound(text, _suggest_qualifier(db, head, qualifier))
        filters = region if filters is None else _intersect(filters, region)
    if not filters:  # contradictory qualifiers: "Boston, MA, France"
        raise PlaceNotFound(text, [_display(db, hit) for hit in _lookup(db, head, None)[:3]])
    return filters


def _regions(db: sqlite3.Connection, qualifier: str) -> list[_Filter]:
    key = normalize_name(qualifier)
    rows = db.execute("SELECT cc, admin1 FROM regions WHERE key = ? ORDER BY rank", (key,))
    return [(cc, admin1) for cc, admin1 in rows]


def _intersect(first: list[_Filter], second: list[_Filter]) -> list[_Filter]:
    merged: list[_Filter] = []
    for cc, admin1 in first:
        for cc2, admin1_2 in second:
            if cc == cc2 and (not admin1 or not admin1_2 or admin1 == admin1_2):
                if (cc, admin1 or admin1_2) not in merged:
                    merged.append((cc, admin1 or admin1_2))
    return merged


def _rows(db: sqlite3.Connection, key: str) -> list[_City]:
    rows = db.execute(
        "SELECT c.id, c.name, c.lat / 1e5, c.lon / 1e5, c.cc, c.admin1, c.pop, n.alt FROM names n "
        "JOIN cities c ON c.id = n.city WHERE n.key = ? ORDER BY n.alt, c.pop DESC, c.id",
        (key,),
    )
    return [_City(*row) for row in rows]


def _lookup(db: sqlite3.Connection, name: str, filters: list[_Filter] | None) -> list[_City]:
    """Matching cities, best first (see :func:`_weight`), within the first filter that has any."""
    key = normalize_name(name)
    rows = _rows(db, key) if key else []
    for region in filters or [None]:  # type: ignore[list-item]
        hits = [row for row in rows if _within(row, region)]
        if hits:
            return sorted(hits, key=lambda row: (-_weight(row), row.alt, row.id))
    return []


def _weight(city: _City) -> int:
    """Population, with a primary-name match counted as PRIMARY_NAME_WEIGHT times as many.

    A name that is a town's own name beats the same name as another city's alternate
    ("Lyons" in English for Lyon) only when their sizes are comparable: "Cologne" is
    Köln (a million people), not Cologne, Italy (7,000).
    """
    return max(city.pop, 1) * (PRIMARY_NAME_WEIGHT if city.alt == 0 else 1)


def _within(city: _City, region: _Filter | None) -> bool:
    return region is None or (city.cc == region[0] and region[1] in ("", city.admin1))


def _city_result(db: sqlite3.Connection, text: str, hits: list[_City]) -> Place:
    best = hits[0]
    display = _display(db, best)
    note = None
    if len(hits) > 1:
        others: list[str] = []
        for hit in hits[1:]:
            if len(others) == 3:
                break
            if (other := _display(db, hit)) not in (display, *others):
                others.append(other)
        more = len(hits) - 1 - len(others)
        note = (
            f"{text!r} matches {len(hits)} places; using the most populous, {display}"
            + (f" (pop. {best.pop:,})" if best.pop else "")
            + ". Others: " + "; ".join(others) + (f"; and {more} more" if more else "")
            + ". Add a state or country to choose."
        )
    return Place(name=display, lat=best.lat, lon=best.lon, kind="city", country_code=best.cc,
                 population=best.pop or None, note=note)


def _display(db: sqlite3.Connection, city: _City) -> str:
    """``'Boston, Massachusetts, United States'``, ``'Lyon, France'``."""
    parts = [city.name]
    for admin1 in ((city.admin1,) if city.admin1 else ()) + ("",):
        row = db.execute("SELECT name FROM labels WHERE cc = ? AND admin1 = ?", (city.cc, admin1))
        parts += [name for (name,) in row]
    return ", ".join(parts)


def _suggest(db: sqlite3.Connection, name: str, filters: list[_Filter] | None) -> list[str]:
    """Up to three close names (plain without a qualifier, full display names with one)."""
    import difflib

    key = normalize_name(name)
    if not key:
        return []
    if filters is not None and (elsewhere := _lookup(db, name, None)):
        return [_display(db, hit) for hit in elsewhere[:3]]
    candidates = [k for (k,) in db.execute(
        "SELECT DISTINCT key FROM names WHERE key >= ? AND key < ? AND alt = 0 "
        "AND length(key) BETWEEN ? AND ?",
        (key[0], chr(ord(key[0]) + 1), len(key) - 2, len(key) + 2),
    )]
    suggestions: list[str] = []
    for close in difflib.get_close_matches(key, candidates, n=10, cutoff=0.75):
        hits = [row for row in _rows(db, close) if row.alt == 0
                and any(_within(row, region) for region in filters or [None])]  # type: ignore[list-item]
        label = (hits[0].name if filters is None else _display(db, hits[0])) if hits else None
        if label and label not in suggestions:
            suggestions.append(label)
    return suggestions[:3]


def _suggest_qualifier(db: sqlite3.Connection, head: str, qualifier: str) -> list[str]:
    """``'Boston, Massachusetts'`` for ``'Boston, Masachusets'``; else where the city exists."""
    import difflib

    labels = {normalize_name(name): name for (name,) in db.execute("SELECT name FROM labels")}
    close = difflib.get_close_matches(normalize_name(qualifier), list(labels), n=5, cutoff=0.6)
    suggestions = [f"{head}, {labels[key]}" for key in close
                   if _lookup(db, head, _regions(db, labels[key]))]
    if not suggestions:
        suggestions = [_display(db, hit) for hit in _lookup(db, head, None)]
    return suggestions[:3]


def is_latin(name: str) -> bool:
    """True when every letter of ``name`` is from the Latin script."""
    return name.isascii() or not _NON_LATIN_LETTER.search(name)
