"""Plain-text pieces of a pre-screen: the table's fit cell, the ``show`` checklist, a digest line.

Reason texts come from the registry and were cleaned of terminal escapes when
the record was read; HTML and CSV escaping stays with the callers.
"""

from __future__ import annotations

import textwrap

from .facts import Fact
from .profile import Profile
from .verdict import EXCLUDED, NO_CONFLICT, UNCLEAR, Assessment, Reason

MARKS = {EXCLUDED: "✗", UNCLEAR: "?", NO_CONFLICT: "✓"}
VERDICT_WORDS = {EXCLUDED: "ruled out", UNCLEAR: "to ask about", NO_CONFLICT: "fits so far"}
DISCLAIMER = ("A pre-screen from the registry's own words, to discuss with your neurologist and the "
              "study team; not a decision.")


def fit_label(assessment: Assessment) -> str:
    """``'✓ fits so far'``, ``'? 2 to ask'`` or ``'✗ EDSS ≤ 5.5'``."""
    if assessment.verdict == EXCLUDED:
        return f"✗ {assessment.excluding[0].label or 'ruled out'}"
    if assessment.verdict == UNCLEAR:
        return f"? {len(assessment.to_ask)} to ask"
    return "✓ fits so far"


def summary(assessment: Assessment) -> str:
    """One line: the verdict and its main reason, e.g. for a digest item."""
    if assessment.verdict == EXCLUDED:
        r = assessment.excluding[0]
        return f"does not fit your profile: {r.why} (\u201c{_short(r.text)}\u201d)"
    if assessment.verdict == UNCLEAR:
        asks = assessment.to_ask
        more = f" and {len(asks) - 1} more" if len(asks) > 1 else ""
        return f"could fit; ask the study team: {asks[0].question or asks[0].why}{more}"
    return "fits your profile so far (nothing in the criteria conflicts with what you stated)"


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _where(fact: Fact) -> str:
    return fact.source if fact.source != "criteria" else f"{fact.section} criteria"


def checklist(assessment: Assessment, profile: Profile, width: int = 100) -> list[str]:
    """Every extracted criterion with the person's value and verdict, and what to ask."""
    counts = {v: sum(1 for r in assessment.reasons if r.verdict == v) for v in MARKS}
    lines = [f"Pre-screen: {VERDICT_WORDS[assessment.verdict]} "
             f"({counts[EXCLUDED]} ruling out, {len(assessment.to_ask)} to ask, {counts[NO_CONFLICT]} fitting)",
             textwrap.fill(DISCLAIMER, width), ""]
    if profile.empty:
        lines.append("No profile facts given: every requirement below is a question to ask.")
    wrap = textwrap.TextWrapper(width=width, initial_indent="      ", subsequent_indent="      ",
                                break_long_words=False, break_on_hyphens=False)
    head = textwrap.TextWrapper(width=width, subsequent_indent="      ", break_long_words=False,
                                break_on_hyphens=False)
    order = {EXCLUDED: 0, UNCLEAR: 1, NO_CONFLICT: 2}
    checks = sorted(assessment.checks, key=lambda c: min((order[r.verdict] for r in c[1]), default=3))
    for fact, reasons in checks:
        quote = f"\u201c{fact.text}\u201d ({_where(fact)})"
        if not reasons:
            lines += head.wrap(f"  - {_fact_label(fact)}: does not apply to what your profile states")
            lines += wrap.wrap(quote)
            continue
        for r in reasons:
            you = f"  [you: {r.value}]" if r.value else ""
            lines += head.wrap(f"  {MARKS[r.verdict]} {r.label or _fact_label(fact)}{you}: {r.why}")
            lines += wrap.wrap(quote)
            if r.verdict == UNCLEAR:
                lines += wrap.wrap(f"Ask: {_question(r)}")
    if not assessment.checks:
        lines.append("  No criteria could be read from this record; ask the study team.")
    return lines


def _question(reason: Reason) -> str:
    return reason.question or f"Does this rule you out? ({reason.why})"


def _fact_label(fact: Fact) -> str:
    return {"ms_type": "MS type", "edss": "EDSS", "therapy": "therapy", "duration": "disease duration",
            "relapse_free": "relapse-free period", "relapse_required": "relapses required",
            "pregnancy": "pregnancy", "breastfeeding": "breastfeeding"}.get(fact.kind, fact.kind)
