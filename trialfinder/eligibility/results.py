"""A pre-screen over a whole search result: assess every match, put ruled-out trials last or aside."""

from __future__ import annotations

from collections import Counter

from ..finder import SearchResult
from .profile import Profile
from .verdict import EXCLUDED, Assessment, assess


def prescreen(result: SearchResult, profile: Profile, *, hide_excluded: bool = False,
              limit: int | None = None) -> SearchResult:
    """Assess every match in ``result`` (in place); excluded trials go last, or into ``result.hidden``.

    Nothing is ever dropped: hidden trials stay in ``result.hidden`` and keep their assessment.
    ``limit`` cuts the list *after* that, so hidden trials never take a place in it: run the
    search without a limit and pass it here.
    """
    result.eligibility = {m.trial.nct_id: assess(m.trial, profile) for m in result.matches}
    fits = [m for m in result.matches if result.eligibility[m.trial.nct_id].verdict != EXCLUDED]
    out = [m for m in result.matches if result.eligibility[m.trial.nct_id].verdict == EXCLUDED]
    if hide_excluded:
        result.matches, result.hidden = fits, out
    else:
        result.matches = fits + out
    if limit is not None and len(result.matches) > limit:
        result.total = len(result.matches)
        result.matches = result.matches[:limit]
        result.truncated = True
    return result


def hidden_note(result: SearchResult) -> str:
    """``'3 trials hidden because your profile rules them out (EDSS ≤ 5.5: 2, PPMS only: 1); ...'``."""
    if not result.hidden:
        return ""
    why = Counter(_first_label(result.eligibility.get(m.trial.nct_id)) for m in result.hidden)
    parts = ", ".join(f"{label}: {n}" for label, n in why.most_common())
    n = len(result.hidden)
    return (f"{n} {'trial' if n == 1 else 'trials'} hidden because the criteria rule out your profile "
            f"({parts}); --show-excluded lists them.")


def _first_label(assessment: Assessment | None) -> str:
    if assessment is None or not assessment.excluding:
        return "ruled out"
    return assessment.excluding[0].label or "ruled out"
