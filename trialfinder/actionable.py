"""What a person needs to act on a digest item: who may join, and whom to call.

The contact is the nearest open site's own contact when the registry lists one
with a phone number or an e-mail address, else the study's central contact.
The digest fetches contacts (:data:`CONTACT_FIELDS`) only for the trials an
e-mail shows, by ID, so a run with no news fetches nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .models import Contact, Site, Trial

# Just enough of each record to find the nearest site again and read its contacts.
CONTACT_FIELDS = (
    "NCTId", "CentralContact", "LocationContact",
    "LocationFacility", "LocationCity", "LocationState", "LocationCountry",
)
_EMAIL = re.compile(r"^[^@\s<>\"'()\[\],;:]+@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-/]{3,30}$")
SEXES = {"ALL": "all sexes", "FEMALE": "women only", "MALE": "men only"}


@dataclass(frozen=True)
class ContactInfo:
    """A person or office to ask about joining, and where that contact belongs."""

    name: str
    phone: str
    email: str
    where: str  # "site: Massachusetts General Hospital, Boston, MA" or "central contact for the study"

    @property
    def mailto(self) -> str | None:
        """The address for a ``mailto:`` link, or None when it does not look like one."""
        return self.email if _EMAIL.match(self.email) else None

    @property
    def tel(self) -> str | None:
        """The number for a ``tel:`` link (digits and a leading +), or None."""
        number = self.phone.split(" ext.")[0]
        if not _PHONE.match(number):
            return None
        return ("+" if number.startswith("+") else "") + re.sub(r"\D", "", number)

    def text(self) -> str:
        """``'Jane Roe, 617-555-0100, jroe@example.org (site: Massachusetts General Hospital, Boston, MA)'``."""
        parts = [p for p in (self.name, self.phone, self.email) if p]
        return f"{', '.join(parts)} ({self.where})"


def who_may_join(snap: dict[str, Any]) -> str:
    """``'18 years to 55 years, all sexes'`` from a digest snapshot."""
    low, high = _age(snap.get("min_age")), _age(snap.get("max_age"))
    if low and high:
        ages = f"{low} to {high}"
    elif low:
        ages = f"{low} and over"
    elif high:
        ages = f"up to {high}"
    else:
        ages = "any age"
    sex = SEXES.get(snap.get("sex") or "", "sex not stated")
    return f"{ages}, {sex}"


def _age(value: Any) -> str:
    return value.lower() if isinstance(value, str) and value else ""


def _usable(contacts: Iterable[Contact]) -> list[Contact]:
    """Contacts one can reach (a phone or an e-mail), the registry's "CONTACT" role first."""
    reachable = [c for c in contacts if c.phone or c.email]
    return sorted(reachable, key=lambda c: c.role not in ("CONTACT", ""))


def best_contact(trial: Trial, site_key: str | None, key_of: Callable[[Site], str],
                 label_of: Callable[[Site], str]) -> ContactInfo | None:
    """The nearest open site's contact, else the central contact, else a named person, else None.

    ``site_key`` names the nearest site (``key_of(site)`` computes the same key);
    ``label_of(site)`` names it for a reader.
    """
    site = next((s for s in trial.sites if site_key and key_of(s) == site_key and s.contacts), None)
    site_label = f"site: {label_of(site)}" if site else ""
    for contacts, where in ((site.contacts if site else (), site_label),
                            (trial.central_contacts, "central contact for the study")):
        usable = _usable(contacts)
        if usable:
            c = usable[0]
            return ContactInfo(c.name, c.phone, c.email, where)
    named = [(c, site_label) for c in (site.contacts if site else ()) if c.name]
    named += [(c, "central contact for the study") for c in trial.central_contacts if c.name]
    if named:
        c, where = named[0]
        return ContactInfo(c.name, "", "", where)
    return None
