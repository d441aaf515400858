"""Making untrusted text from the API safe to print, store and export."""

from __future__ import annotations

import re

# ANSI/VT escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST),
# DCS/SOS/PM/APC strings, two-byte escapes, and the 8-bit C1 forms of CSI/OSC.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]              # CSI ... final byte
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)   # OSC/DCS/SOS/PM/APC
    | \x1b[ -/]*[0-~]                              # other two-byte escapes
    """,
    re.VERBOSE | re.DOTALL,
)
# Every remaining C0 and C1 control character, DEL, and Unicode bidi overrides
# (which can make a terminal show text in a misleading order).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_NO_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")

CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def clean_text(value: str) -> str:
    """Strip terminal escape sequences and control characters; keep newlines and tabs."""
    if value.isprintable():  # no controls, escapes or bidi overrides: the common case
        return value
    value = value.replace("\r\n", "\n")
    value = _ESCAPES.sub("", value)
    return _CONTROLS.sub("", value)


def clean_line(value: str) -> str:
    """Like :func:`clean_text`, then fold all whitespace (newlines too) into single spaces."""
    if value.isprintable() and "  " not in value and value == value.strip():
        return value  # the common case, without three regular expressions
    value = _ESCAPES.sub("", value)
    value = _CONTROLS_NO_NEWLINE.sub(" ", value)
    return _SPACES.sub(" ", value).strip()


def neutralise_csv(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a single quote (OWASP)."""
    if value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def shorten(value: str, width: int) -> str:
    """Cut ``value`` to at most ``width`` characters, marking the cut with an ellipsis."""
    if len(value) <= width:
        return value
    return value[: max(width - 1, 0)].rstrip() + "…"
