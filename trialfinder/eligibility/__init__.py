"""An offline, deterministic eligibility pre-screen: a person's profile against a trial's criteria.

>>> from trialfinder.eligibility import assess, load_profile
>>> assessment = assess(trial, load_profile("me.toml"))   # a Trial or a raw v2 study record
>>> assessment.verdict                                     # "excluded" | "unclear" | "no_conflict"

A pre-screen to discuss with a neurologist and the study team, not a decision.
"""

from __future__ import annotations

from .criteria import Item, split_criteria
from .facts import Bound, Fact
from .profile import MS_TYPES, Profile, Treatment, load_profile, profile_from_mapping
from .verdict import EXCLUDED, NO_CONFLICT, UNCLEAR, Assessment, Reason, assess, read_facts

CRITERIA_FIELDS = ("EligibilityCriteria",)  # what a search must fetch besides its usual projection

__all__ = [
    "CRITERIA_FIELDS", "EXCLUDED", "MS_TYPES", "NO_CONFLICT", "UNCLEAR", "Assessment", "Bound", "Fact",
    "Item", "Profile", "Reason", "Treatment", "assess", "load_profile", "profile_from_mapping",
    "read_facts", "split_criteria",
]
