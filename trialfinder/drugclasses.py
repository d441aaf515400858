"""Drug classes ("BTK inhibitor") expanded to member drugs and their code names.

The classes live in ``data/drug_classes.json`` with the source of each
membership. A trial matches a member when the member's name or one of its code
names appears in the trial's intervention names, other names or title.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .exceptions import InputError


@dataclass(frozen=True)
class Drug:
    """A member drug: its INN, code names and where the membership comes from."""

    name: str
    codes: tuple[str, ...]
    studied_in_ms: bool
    source: str
    brands: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        return (self.name, *self.codes)

    @property
    def names(self) -> tuple[str, ...]:
        """The INN, code names and brand names: every way a text may name the drug."""
        return (self.name, *self.codes, *self.brands)


@dataclass(frozen=True)
class DrugClass:
    key: str
    name: str
    aliases: tuple[str, ...]
    description: str
    members: tuple[Drug, ...]

    @property
    def terms(self) -> list[str]:
        """Every name and code name, for ``query.intr``."""
        return [term for drug in self.members for term in drug.terms]


@cache
def drug_classes() -> tuple[DrugClass, ...]:
    """All classes from the packaged data file."""
    raw = json.loads(resources.files("trialfinder").joinpath("data/drug_classes.json").read_text())
    return tuple(
        DrugClass(
            key=c["key"],
            name=c["name"],
            aliases=tuple(c["aliases"]),
            description=c["description"],
            members=tuple(
                Drug(m["drug"], tuple(m["codes"]), bool(m["studied_in_ms"]), m["source"],
                     tuple(m.get("brands", ())))
                for m in c["members"]
            ),
        )
        for c in raw["classes"]
    )


def _key(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().lower().replace("’", "'"))


def find_drug_class(text: str) -> DrugClass:
    """The class named by a key or alias (``'btk'``, ``'BTK inhibitor'``, ``'btki'``)."""
    wanted = _key(text)
    for drug_class in drug_classes():
        if wanted == drug_class.key or wanted in (_key(a) for a in drug_class.aliases):
            return drug_class
    known = ", ".join(c.key for c in drug_classes())
    raise InputError(f"unknown drug class {text!r}; known classes: {known}")


def _pattern(term: str) -> re.Pattern[str]:
    # "GDC-0853" should also match "GDC 0853" and "GDC0853"; words match whole.
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", term) if p]
    return re.compile(r"(?<![A-Za-z0-9])" + r"[\s\-]?".join(parts) + r"(?![A-Za-z0-9])", re.I)


def matched_drugs(texts: list[str], drugs: list[Drug]) -> list[str]:
    """Names of the drugs whose name or code name occurs in any of ``texts``."""
    haystack = "\n".join(texts)
    return [d.name for d in drugs if any(_pattern(t).search(haystack) for t in d.terms)]


def resolve_drug(text: str) -> tuple[str, ...]:
    """The INNs a person means by a drug, brand, code or class name (``'Ocrevus'`` ->
    ``('ocrelizumab',)``, ``'anti-CD20'`` -> its four members); unknown names as given."""
    wanted = _key(text)
    squashed = re.sub(r"[\s\-]", "", wanted)
    for drug_class in drug_classes():
        if wanted == drug_class.key or wanted in (_key(a) for a in drug_class.aliases):
            return tuple(d.name for d in drug_class.members)
    for drug_class in drug_classes():
        for drug in drug_class.members:
            if any(re.sub(r"[\s\-]", "", _key(n)) == squashed for n in drug.names):
                return (drug.name,)
    return (wanted,)


def all_drugs() -> tuple[Drug, ...]:
    """Every member drug of every class, once."""
    seen: dict[str, Drug] = {}
    for drug_class in drug_classes():
        for drug in drug_class.members:
            seen.setdefault(drug.name, drug)
    return tuple(seen.values())
