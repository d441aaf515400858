"""Turning user text into safe pieces of Essie, the API's query language.

User text is never spliced into an expression as it is: reserved characters
(``[ ] ( ) { } " \\``) are removed, operator words (``OR``, ``AND``, ``MISSING``,
...) are lower-cased wherever they stand, even glued to punctuation (``AML,ALL``),
so they read as plain words, and phrases are quoted.
"""

from __future__ import annotations

import re

_RESERVED = re.compile(r'[\[\]\(\)\{\}"\\^~*?:]')
_OPERATORS = {
    "AND", "OR", "NOT", "MISSING", "ALL", "RANGE", "AREA", "SEARCH", "COVERAGE",
    "COVER", "EXPANSION", "TILT", "DISTANCE", "MIN", "MAX",
}
_SPACES = re.compile(r"\s+")
# Every run of ASCII letters, wherever it stands: "AML,ALL", "NOT," and "a/OR/b" hide
# operators behind punctuation, which Essie splits words on.
_LETTERS = re.compile(r"[A-Za-z]+")


def _lower_operator(word: re.Match[str]) -> str:
    text = word.group()
    return text.lower() if text.upper() in _OPERATORS else text


def plain_words(text: str) -> str:
    """User text as plain search words: no reserved characters, no operators."""
    words = _SPACES.sub(" ", _RESERVED.sub(" ", text)).strip()
    return _LETTERS.sub(_lower_operator, words)


def phrase(text: str) -> str:
    """User text as one quoted Essie phrase, e.g. ``'"GDC-0853"'``; empty if nothing is left."""
    words = plain_words(text)
    return f'"{words}"' if words else ""


def any_of(texts: list[str]) -> str:
    """Quoted phrases joined with OR: ``'"tolebrutinib" OR "SAR442168"'``."""
    seen: list[str] = []
    for text in texts:
        quoted = phrase(text)
        if quoted and quoted.lower() not in (s.lower() for s in seen):
            seen.append(quoted)
    return " OR ".join(seen)
