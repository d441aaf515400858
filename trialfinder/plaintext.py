"""The registry's CommonMark text (summaries, eligibility criteria) as wrapped plain text.

ClinicalTrials.gov stores these fields as CommonMark: ``* item`` lists, ``1.`` numbered
lists, and backslash escapes such as ``1\\.``, ``\\<`` and ``\\>``. A real CommonMark parser
(markdown-it-py) reads them, so escapes, entities, nested and numbered lists come out as
the registry's own web page shows them; this module only lays the result out for a
terminal, wrapping at a width without splitting a word or an e-mail address.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt

from .text import clean_text


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Raw HTML stays text: the registry's text is not trusted to carry markup.
    return MarkdownIt("commonmark", {"html": False})


def to_plain_text(source: str, width: int = 100) -> str:
    """``source`` (CommonMark) as plain text wrapped at ``width`` columns.

    Cleaned again afterwards: a character reference such as ``&#27;`` or ``&#x202E;``
    would otherwise bring back the escapes and bidi overrides the model removed.
    """
    return clean_text(_Writer(max(width, 20)).render(_parser().parse(source)))


def wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """Lines of ``text`` at most ``width`` wide where words allow: never breaks inside a
    word, an e-mail address or a URL (a longer word gets a line of its own)."""
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first.rstrip()]


class _Writer:
    """Walks markdown-it's block tokens and writes indented, wrapped lines."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []
        self.lists: list[bool] = []  # ordered?, one per open list
        self.indents: list[str] = []  # one per open list item: the width of its marker
        self.pending = ""  # a list item's marker, written before its first line

    def render(self, tokens: list[Any]) -> str:
        for token in tokens:
            handler = getattr(self, "_" + token.type, None)
            if handler is not None:
                handler(token)
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines)

    def _blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def _prefixes(self) -> tuple[str, str]:
        """The first line's indent (with a pending list marker) and the following lines'."""
        indent = "".join(self.indents)
        if not self.pending:
            return indent, indent
        first = indent[: len(indent) - len(self.pending)] + self.pending
        self.pending = ""
        return first, indent

    def _write(self, text: str) -> None:
        first, rest = self._prefixes()
        for n, part in enumerate(text.split("\n")):
            self.lines.extend(wrap(" ".join(part.split()), self.width, first if n == 0 else rest, rest))

    # -- blocks, by markdown-it token type -------------------------------------------

    def _bullet_list_open(self, token: Any) -> None:
        if not self.lists:
            self._blank()
        self.lists.append(False)

    def _ordered_list_open(self, token: Any) -> None:
        if not self.lists:
            self._blank()
        self.lists.append(True)

    def _bullet_list_close(self, token: Any) -> None:
        self.lists.pop()

    _ordered_list_close = _bullet_list_close

    def _list_item_open(self, token: Any) -> None:
        self.pending = f"{token.info}{token.markup} " if self.lists[-1] else f"{token.markup or '-'} "
        self.indents.append(" " * len(self.pending))

    def _list_item_close(self, token: Any) -> None:
        self.indents.pop()
        self.pending = ""

    def _paragraph_open(self, token: Any) -> None:
        if not token.hidden:  # paragraphs of a tight list are hidden: no blank line
            self._blank()

    _heading_open = _paragraph_open

    def _inline(self, token: Any) -> None:
        self._write(_inline_text(token.children or []))

    def _code_block(self, token: Any) -> None:
        self._blank()
        for line in token.content.rstrip("\n").split("\n"):
            self._write(line)

    _fence = _code_block
    _html_block = _code_block

    def _hr(self, token: Any) -> None:
        self._blank()
        self.lines.append("".join(self.indents) + "-" * min(20, self.width))


def _inline_text(children: list[Any]) -> str:
    """The text of an inline token: escapes and entities resolved, emphasis marks dropped,
    a link's address after its text, breaks kept."""
    out: list[str] = []
    href: list[str] = []
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline", "html_inline"):
            out.append(child.content)
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "link_open":
            href.append("" if child.markup == "autolink" else str(child.attrGet("href") or ""))
        elif kind == "link_close":
            target = href.pop() if href else ""
            if target and not target.startswith("mailto:"):
                out.append(f" ({target})")
        elif kind == "image":
            out.append(child.content)
    return "".join(out)
