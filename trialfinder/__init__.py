"""trialfinder: find clinical trials recruiting near a place on ClinicalTrials.gov.

The library API::

    from trialfinder import Client, Query, resolve_place, find_drug_class, search

    query = Query(drug_class=find_drug_class("btk"), place=resolve_place("Boston, MA"))
    for match in search(Client(), query).matches:
        print(match.trial.nct_id, match.nearest.distance_mi)

Names are imported lazily, so ``import trialfinder`` stays fast for the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0.dev0"

_EXPORTS = {
    "Client": "client",
    "RetryPolicy": "client",
    "Query": "query",
    "Radius": "query",
    "build_query": "query",
    "parse_radius": "query",
    "parse_statuses": "query",
    "parse_phases": "query",
    "Trial": "models",
    "Site": "models",
    "Contact": "models",
    "Intervention": "models",
    "Match": "ranking",
    "NearbySite": "ranking",
    "haversine_mi": "ranking",
    "rank": "ranking",
    "search": "finder",
    "SearchResult": "finder",
    "Place": "places",
    "resolve_place": "places",
    "resolve_location": "places",
    "Region": "regions",
    "DrugClass": "drugclasses",
    "drug_classes": "drugclasses",
    "find_drug_class": "drugclasses",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trialfinder' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
