"""Regions: a US state or a country, searched by the sites registered in it (no distance).

The registry records each site's state and country as text, in its own spellings
("United States", "Korea, Republic of", "Turkey (Türkiye)"). A :class:`Region` asks the
registry for studies with a site there (``query.locn``, an Essie expression built from
this module's own spellings, never from user text) and then judges each site itself,
matching spellings loosely: case, accents, punctuation, "X, Republic of" word order and
a parenthesised second name do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import essie

# The registry's spellings where they differ from GeoNames' (ClinicalTrials.gov's country
# list, old and new forms); matched loosely, so "Korea, Republic of" also covers
# "Republic of Korea".
REGISTRY_COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "BN": ("Brunei Darussalam",),
    "BO": ("Bolivia, Plurinational State of",),
    "CD": ("Congo, The Democratic Republic of the",),
    "CG": ("Congo",),
    "CI": ("Côte D'Ivoire",),
    "CV": ("Cape Verde",),
    "CZ": ("Czech Republic",),
    "FM": ("Micronesia, Federated States of",),
    "IR": ("Iran, Islamic Republic of",),
    "KP": ("Korea, Democratic People's Republic of",),
    "KR": ("Korea, Republic of",),
    "LA": ("Lao People's Democratic Republic",),
    "LY": ("Libyan Arab Jamahiriya",),
    "MD": ("Moldova, Republic of",),
    "MK": ("Macedonia, The Former Yugoslav Republic of",),
    "MM": ("Burma",),
    "MO": ("Macau",),
    "NL": ("Netherlands",),
    "PS": ("Palestinian Territory, occupied", "Palestine"),
    "RU": ("Russian Federation",),
    "SY": ("Syrian Arab Republic",),
    "SZ": ("Swaziland",),
    "TR": ("Turkey (Türkiye)",),
    "TW": ("Taiwan, Province of China",),
    "TZ": ("Tanzania, United Republic of",),
    "US": ("United States", "United States of America"),
    "VA": ("Holy See (Vatican City State)",),
    "VE": ("Venezuela, Bolivarian Republic of",),
    "VI": ("Virgin Islands (U.S.)", "U.S. Virgin Islands"),
    "VN": ("Viet Nam",),
}
# Territories the registry lists either as a country or as a state of the United States.
US_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP"})

_PARENTHESES = re.compile(r"\(([^()]*)\)")


@lru_cache(maxsize=4096)
def spelling_keys(text: str) -> frozenset[str]:
    """Every lookup key a spelling may stand for: ``'Turkey (Türkiye)'`` -> turkey, turkiye, ..."""
    from .places import normalize_name

    outer = _PARENTHESES.sub(" ", text)
    forms = [text, outer, *_PARENTHESES.findall(text)]
    if "," in outer:  # "Korea, Republic of" -> "Republic of Korea"
        head, _, tail = outer.partition(",")
        forms.append(f"{tail} {head}")
    return frozenset(key for key in map(normalize_name, forms) if key)


def _keys(spellings: Iterable[str]) -> frozenset[str]:
    return frozenset().union(*(spelling_keys(s) for s in spellings))


def _terms(spellings: Iterable[str]) -> list[str]:
    """Simple Essie phrases for ``spellings`` (parenthesised names as their own phrase)."""
    terms: list[str] = []
    for spelling in spellings:
        for part in (_PARENTHESES.sub(" ", spelling), *_PARENTHESES.findall(spelling)):
            phrase = essie.phrase(part)
            if phrase and phrase.lower() not in (t.lower() for t in terms):
                terms.append(phrase)
    return terms


# Country names read with "the" in English: by their form ("the United States", "the Czech
# Republic", "the Cayman Islands"), and the few plural or customary names without such a word.
_ARTICLE_WORDS = frozenset({"United", "Republic", "Kingdom", "Islands", "Federation", "Emirates", "States"})
_ARTICLE_NAMES = frozenset({"Philippines", "Bahamas", "Maldives", "Seychelles", "Comoros", "Gambia",
                            "Netherlands", "Vatican"})


@lru_cache(maxsize=1)
def _us_keys() -> frozenset[str]:
    return _keys((*REGISTRY_COUNTRY_NAMES["US"], "USA", "U.S.A.", "U.S."))


@dataclass(frozen=True)
class Region:
    """A US state (``kind='state'``) or a country (``kind='country'``)."""

    name: str  # "Massachusetts, United States", "France"
    kind: str  # "state" | "country"
    country_code: str  # ISO 3166-1 alpha-2
    spellings: tuple[str, ...]  # full names, searched for and matched: GeoNames', the registry's
    state_code: str | None = None  # US postal code, for a state
    note: str | None = None
    aliases: tuple[str, ...] = ()  # codes and short forms: matched on sites, not searched for
    _keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", _keys(self.spellings + self.aliases))

    @property
    def short_name(self) -> str:
        """``'Massachusetts'``, ``'France'``."""
        return self.spellings[0]

    @property
    def prose_name(self) -> str:
        """The name as it reads in a sentence: ``'the United Kingdom'``, ``'France'``."""
        name = self.short_name
        if name.startswith("The "):
            return "the " + name[4:]
        words = set(name.split())
        if self.kind == "country" and (words & _ARTICLE_WORDS or name in _ARTICLE_NAMES):
            return "the " + name
        return name

    @property
    def _in_us(self) -> bool:
        return self.kind == "state" or self.country_code in US_TERRITORIES

    def locn(self) -> str:
        """The ``query.locn`` Essie expression for studies with a site here."""
        terms = _terms(self.spellings)
        areas = ["LocationState"] if self.kind == "state" else ["LocationCountry"]
        if self.country_code in US_TERRITORIES:
            areas = ["LocationCountry", "LocationState"]
        either = terms[0] if len(terms) == 1 else f"({' OR '.join(terms)})"
        return " OR ".join(f"AREA[{area}]{either}" for area in areas)

    def contains(self, state: Any, country: Any) -> bool:
        """Whether a site registered with this state and country text lies in the region."""
        country_keys = spelling_keys(country) if isinstance(country, str) and country else None
        if self.kind == "country" and country_keys is not None and country_keys & self._keys:
            return True
        if not self._in_us or not isinstance(state, str) or not state:
            return False
        in_us = country_keys is None or bool(country_keys & _us_keys())
        return in_us and bool(spelling_keys(state) & self._keys)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "country_code": self.country_code,
            "state_code": self.state_code, "spellings": list(self.spellings),
            "note": self.note,
        }
