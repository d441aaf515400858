"""Typed facts read from a trial, and the number ranges ("3.0 to 6.5", "≤ 5.5") they hold."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

SECTIONS = ("inclusion", "exclusion", "unknown", "structured")


@dataclass(frozen=True)
class Bound:
    """A range of numbers; each end may be open (None) or strict."""

    low: float | None = None
    high: float | None = None
    low_strict: bool = False
    high_strict: bool = False

    def contains(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_strict and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_strict and value == self.high)))

    def __str__(self) -> str:
        def num(x: float) -> str:
            return f"{x:g}" if x != int(x) else f"{x:.1f}" if self.decimal else f"{x:g}"

        lo = None if self.low is None else num(self.low)
        hi = None if self.high is None else num(self.high)
        if lo is not None and hi is not None:
            if not self.low_strict and not self.high_strict:
                return f"{lo}–{hi}"
            return f"{'>' if self.low_strict else '≥'} {lo} and {'<' if self.high_strict else '≤'} {hi}"
        if hi is not None:
            return f"{'<' if self.high_strict else '≤'} {hi}"
        if lo is not None:
            return f"{'>' if self.low_strict else '≥'} {lo}"
        return "any"

    decimal: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"min": self.low, "min_strict": self.low_strict, "max": self.high, "max_strict": self.high_strict}


@dataclass(frozen=True)
class Fact:
    """One thing a trial states, with the verbatim words it was read from.

    ``confident`` is False when the reading may be wrong (a condition, an
    alternative, a negation): such a fact can make a verdict unclear, never excluded.
    """

    kind: str  # "ms_type" | "edss" | "age" | "sex" | "duration" | "relapse" | "therapy" | ...
    section: str  # one of SECTIONS
    text: str
    source: str = "criteria"
    confident: bool = True
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = {k: (v.as_dict() if isinstance(v, Bound) else sorted(v) if isinstance(v, (set, frozenset))
                    else v) for k, v in self.data.items()}
        return {"section": self.section, "source": self.source, "text": self.text,
                "confident": self.confident, **data}


# -- numbers and comparisons --------------------------------------------------

NUM = r"(\d{1,3}(?:[.,]\d{1,2})?)"
_OPS = [  # (pattern, side, strict); longer phrases first
    (r"≤|⩽|<=|=<|less\s+than\s+or\s+equal\s+(?:to\s+)?|lower\s+than\s+or\s+equal\s+(?:to\s+)?|"
     r"equal\s+to\s+or\s+(?:less|lower)\s+than\s+|(?:no|not)\s+(?:more|greater|higher)\s+than\s+|"
     r"not\s+exceeding\s+|at\s+most\s+|up\s+to\s+(?:and\s+including\s+)?|maximum\s+(?:of\s+)?|max\.?\s+",
     "high", False),
    (r"≥|⩾|>=|=>|greater\s+than\s+or\s+equal\s+(?:to\s+)?|higher\s+than\s+or\s+equal\s+(?:to\s+)?|"
     r"equal\s+to\s+or\s+(?:greater|higher|more)\s+than\s+|(?:no|not)\s+(?:less|lower|fewer)\s+than\s+|"
     r"at\s+least\s+|minimum\s+(?:of\s+)?|min\.?\s+",
     "low", False),
    (r"<|less\s+than\s+|lower\s+than\s+|below\s+|under\s+|fewer\s+than\s+", "high", True),
    (r">|greater\s+than\s+|more\s+than\s+|higher\s+than\s+|above\s+|over\s+|exceeding\s+|in\s+excess\s+of\s+",
     "low", True),
]
_OP_RE = [(re.compile(rf"(?:{p})\s*{NUM}", re.I), side, strict) for p, side, strict in _OPS]
_POSTFIX = re.compile(
    rf"{NUM}\s*(?:points?\s+|years?\s+(?:of\s+age\s+)?)?(?:or|and)\s+(less|lower|below|fewer|under|"
    rf"more|greater|higher|above|over|older|younger)\b", re.I)
_RANGE = re.compile(
    rf"(?:between\s+|from\s+|of\s+|range\s+(?:of\s+)?)?{NUM}\s*(?:points?\s+|years?\s+)?"
    rf"(?:to|-|–|—|and|through|thru)\s*{NUM}", re.I)


def without_asides(text: str) -> str:
    """``text`` without its bracketed asides, nested ones too."""
    while True:
        stripped = re.sub(r"\([^()]*\)", " ", text)
        if stripped == text:
            return text
        text = stripped


def number(text: str) -> float:
    return float(text.replace(",", "."))


def parse_bound(clause: str, low_limit: float, high_limit: float) -> tuple[Bound | None, bool]:
    """The range a clause states, and whether it was read plainly (no "or" between limits).

    Numbers outside ``low_limit..high_limit`` are not this scale's: (None, False).
    """
    found: list[tuple[int, str, bool, float]] = []  # (position, side, strict, value)
    taken: list[tuple[int, int]] = []
    decimal = False
    for match in _RANGE.finditer(clause):
        a, b = number(match.group(1)), number(match.group(2))
        if a <= b and "-" not in clause[max(0, match.start() - 1):match.start()]:
            exclusive = bool(re.search(r"\bexclusive\b", clause[match.end():match.end() + 40], re.I))
            found += [(match.start(), "low", exclusive, a), (match.start(), "high", exclusive, b)]
            taken.append(match.span())
            decimal = decimal or "." in match.group(0)
            break
    for regex, side, strict in _OP_RE:
        for match in regex.finditer(clause):
            if any(s <= match.start(1) < e for s, e in taken):
                continue
            found.append((match.start(), side, strict, number(match.group(1))))
            taken.append(match.span())
            decimal = decimal or "." in match.group(1)
    for match in _POSTFIX.finditer(clause):
        if any(s <= match.start(1) < e for s, e in taken):
            continue
        side = "high" if match.group(2).lower() in ("less", "lower", "below", "fewer", "under", "younger") else "low"
        found.append((match.start(), side, False, number(match.group(1))))
        decimal = decimal or "." in match.group(1)
    if not found:
        return None, False
    if any(not low_limit <= v <= high_limit for *_, v in found):
        return None, False
    lows = [(v, s) for _, side, s, v in found if side == "low"]
    highs = [(v, s) for _, side, s, v in found if side == "high"]
    plain = len(lows) <= 1 and len(highs) <= 1
    first, last = min(p for p, *_ in found), max(p for p, *_ in found)
    if re.search(r"\bor\b", clause[first:last], re.I):
        plain = False
    low = min(lows) if lows else None
    high = max(highs) if highs else None
    if low and high and (low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1]))):
        return None, False
    bound = Bound(low[0] if low else None, high[0] if high else None,
                  bool(low and low[1]), bool(high and high[1]), decimal=decimal)
    return bound, plain


def months(value: float, unit: str) -> float:
    """A period in months: ``(30, 'days')`` -> about 0.99."""
    unit = unit.lower()
    if unit.startswith("d"):
        return value / 30.4375
    if unit.startswith("w"):
        return value * 7 / 30.4375
    if unit.startswith("y"):
        return value * 12
    return value


WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "twelve": 12, "eighteen": 18, "twenty-four": 24, "thirty": 30}


def words_to_digits(text: str) -> str:
    """``'two years'`` -> ``'2 years'`` (only before a unit of time), so periods parse alike."""
    pattern = r"\b(" + "|".join(WORD_NUMBERS) + r")\b(?=\s*(?:\(\d+\)\s*)?(?:days?|weeks?|months?|years?|relapses?|clinical))"
    return re.sub(pattern, lambda m: str(WORD_NUMBERS[m.group(1).lower()]), text, flags=re.I)


INF = math.inf
