"""Fitting a table into a terminal's width: which columns to narrow or drop, and how to cut.

tabulate draws the table; this module only decides each column's width (passed to
tabulate as ``maxcolwidths``) and cuts cells at word boundaries. A table is a list of
:class:`Column`; a *plan* says, in order, what to give up when the table is too wide:
``("drop", key)`` removes a column, ``("shrink", key, width)`` narrows one down to at
most ``width`` (only as far as needed). Adding a column is one Column and, if it may
be given up, one step in the plan.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import tabulate as tabulate_module
from tabulate import tabulate

GAP = 2  # spaces between columns in tabulate's "simple" format
ELLIPSIS = "…"


def cut_words(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut at a word boundary and marked with …"""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = text[: width - 1]
    space = head.rfind(" ")
    if text[width - 1] == " ":  # the cut falls exactly on a word boundary
        space = width - 1
    if space > 0 and head[:space].strip(" " + ELLIPSIS):  # keep whole words when there are any
        head = head[:space]
    return head.rstrip(" ,;:-–(") + ELLIPSIS


def distinctive_titles(titles: Sequence[str], width: int) -> list[str]:
    """Titles cut to ``width`` so that titles sharing their first words still differ.

    "Orelabrutinib (ICP-022) Versus Placebo in Primary Progressive MS" and "... in
    Secondary Progressive MS" become "Orelabrutinib … Primary Progressive MS" and
    "Orelabrutinib … Secondary Progressive MS" rather than two identical cuts.
    """
    words = [t.split() for t in titles]
    out = []
    for i, title in enumerate(titles):
        if len(title) <= width:
            out.append(title)
            continue
        shared = max((_common_prefix(words[i], w) for j, w in enumerate(words) if j != i), default=0)
        if shared and len(cut_words(title, width)) <= len(" ".join(words[i][:shared])) + 1:
            # the plain cut would end inside the shared words: skip them (keeping the first
            # word when there is room) so that what differs shows
            rest = words[i][shared:]
            with_first = f"{words[i][0]} {ELLIPSIS} {' '.join(rest)}"
            # the first word only when two distinctive words still fit beside it
            keep_first = len(f"{words[i][0]} {ELLIPSIS} {' '.join(rest[:2])}") < width
            out.append(cut_words(with_first if keep_first else f"{ELLIPSIS} {' '.join(rest)}", width))
        else:
            out.append(cut_words(title, width))
    return out


def two_line_titles(titles: Sequence[str], width: int) -> list[str]:
    """Titles in at most two lines of ``width``: a narrow column shows more of each title
    (the distinctive part kept, as in :func:`distinctive_titles`)."""
    if width >= 24:  # wide enough to tell titles apart on one line
        return distinctive_titles(titles, width)
    out = []
    for title in distinctive_titles(titles, 2 * width):
        lines = textwrap.wrap(title, width, break_long_words=False, break_on_hyphens=False)
        if len(lines) > 2 or any(len(line) > width for line in lines):
            first = cut_words(title, width)
            rest = title[len(first.rstrip(ELLIPSIS)):].strip()
            lines = [first.rstrip(ELLIPSIS).rstrip(), cut_words(rest, width)] if rest else [first]
        out.append("\n".join(lines))
    return out


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x.casefold() != y.casefold():
            break
        n += 1
    return n


@dataclass
class Column:
    """One column: its key, header and cells, and how a cell is cut to a narrower width.

    ``wrap`` columns are wrapped over several lines instead of cut; they are never
    narrower than their longest word, so no word (or e-mail address) is split. ``floor``
    is the narrowest any column may become.
    """

    key: str
    header: str
    cells: list[str]
    cut: Callable[[list[str], int], list[str]] | None = None
    wrap: bool = False
    floor: int = 1  # never narrower than this (a city is not cut to make room for a title)
    width: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.width = max([len(self.header), *(_longest_line(c) for c in self.cells)])

    @property
    def least(self) -> int:
        """The narrowest this column may become."""
        if self.wrap:
            return max([self.floor, *(len(w) for c in [self.header, *self.cells] for w in c.split())])
        return self.floor

    def fitted_cells(self) -> list[str]:
        if self.wrap:  # wrapped here, not by tabulate, which would break words at hyphens
            return ["\n".join(line for part in c.split("\n") for line in textwrap.wrap(
                part, self.width, break_long_words=False, break_on_hyphens=False) or [""])
                for c in self.cells]
        if all(_longest_line(c) <= self.width for c in self.cells):
            return self.cells
        if self.cut is not None:
            return self.cut(self.cells, self.width)
        return [cut_words(c, self.width) for c in self.cells]


Plan = Sequence[tuple[str, str] | tuple[str, str, int]]


def fit(columns: list[Column], width: int | None, plan: Plan) -> list[Column]:
    """The columns that fit in ``width`` characters, narrowed or dropped as ``plan`` says.

    ``None`` means no limit: every column at its full width.
    """
    kept = list(columns)
    if width is None:
        return kept
    for step in plan:
        over = _total(kept) - width
        if over <= 0:
            break
        column = next((c for c in kept if c.key == step[1]), None)
        if column is None:
            continue
        if step[0] == "drop":
            kept.remove(column)
        else:
            target = max(step[2], column.least)  # type: ignore[misc]
            column.width = max(min(column.width, target), column.width - over)
    return kept


def render(columns: list[Column], fmt: str = "simple") -> str:
    """The table as tabulate draws it, each column at its fitted width."""
    rows = list(zip(*(c.fitted_cells() for c in columns), strict=True))
    widths = [c.width for c in columns]
    with _no_header_padding():
        return tabulate(rows, headers=[c.header for c in columns], tablefmt=fmt, disable_numparse=True,
                        maxcolwidths=widths, maxheadercolwidths=widths)


@contextlib.contextmanager
def _no_header_padding() -> Iterator[None]:
    """tabulate widens every column to its header plus ``MIN_PADDING`` (2) spaces; the
    columns are already apart by GAP, so "Phase" over "3" need not take seven characters."""
    saved = tabulate_module.MIN_PADDING
    tabulate_module.MIN_PADDING = 0
    try:
        yield
    finally:
        tabulate_module.MIN_PADDING = saved


def _total(columns: list[Column]) -> int:
    return sum(_drawn_width(c) for c in columns) + GAP * max(len(columns) - 1, 0)


def _drawn_width(column: Column) -> int:
    """The width tabulate draws: at least the longest line of the wrapped header."""
    header = textwrap.wrap(column.header, column.width) or [""]
    return max(column.width, max(len(line) for line in header))


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)

