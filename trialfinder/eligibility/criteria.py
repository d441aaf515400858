"""Split a registry ``eligibilityCriteria`` text into inclusion and exclusion items.

The registry's texts are loose Markdown: bullets, numbered and nested lists,
headers such as "Key Inclusion Criteria:", CommonMark escapes (``1\\.``,
``\\<``), or no headers at all. A list introduced by "at least one of the
following:" keeps its children inside the parent item, marked as alternatives,
so that no single alternative is ever read as a requirement on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~=^:;'\"])")
_HEADER = re.compile(
    r"^[#*_\s]*(?:(?:key|main|major|general|other|additional|selected)\s+)?"
    r"(inclusion|exclusion|eligibility|exclusionary|inclusionary)"
    r"(?:\s+criteria)?(?:\s+(?:include|are|(?:for|specific|applicable|relevant)[^:]{0,40}))?[*_\s]*(?::|$|\s*-\s)"
    r"(?P<rest>.*)$",
    re.I,
)
_MARKER = re.compile(
    r"^(?P<indent>\s*)(?P<marker>[*\-•·+▪◦]|\(?\d{1,3}[.)](?!\d)|\(?[a-hj-z][.)]|\(?(?:i{1,3}|iv|vi{0,3}|ix|x)[.)])\s+"
    r"(?P<text>.*)$",
    re.I,
)
_ANY_OF = re.compile(
    r"\b(?:at\s+least\s+(?:one|1|two|2)|any\s+(?:one\s+)?of|one\s+(?:or\s+more\s+)?of|either|"
    r"(?:one|1)\s+of\s+the\s+following|following\s+(?:\w+\s+){0,3}(?:options|alternatives))\b",
    re.I,
)


@dataclass(frozen=True)
class Item:
    """One criterion: its section, its text (escapes removed), and whether it offers choices."""

    section: str  # "inclusion" | "exclusion" | "unknown"
    text: str
    any_of: bool = False  # a lead-in with alternatives ("at least one of the following:")

    def sentences(self) -> list[str]:
        """The item's sentences: a decimal point, "e.g." or a ";" inside brackets never ends one."""
        out: list[str] = []
        for line in self.text.split("\n"):
            start = depth = 0
            for match in re.finditer(r"[()\[\]]|(?<=[.;!?])\s+(?=[A-Z(\[])|\s+(?=\b(?:i{1,3}|iv|v|vi)\)\s)", line):
                token = match.group(0)
                if token in "([":
                    depth += 1
                elif token in ")]":
                    depth = max(0, depth - 1)
                elif depth == 0 and not re.search(r"\b(?:e\.g|i\.e|vs|approx|incl|Dr|No)\.$", line[start:match.start()]):
                    out.append(line[start:match.start()])
                    start = match.end()
            out.append(line[start:])
        return [p.strip() for p in out if p.strip()]


def unescape(text: str) -> str:
    """CommonMark backslash escapes removed (``1\\.`` -> ``1.``, ``\\<`` -> ``<``)."""
    return _ESCAPE.sub(r"\1", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _style(marker: str) -> str:
    core = marker.strip("()").rstrip(".)").lower()
    if marker in "*-•·+▪◦":
        return "bullet"
    if core.isdigit():
        return "number"
    if re.fullmatch(r"i{1,3}|iv|vi{0,3}|ix|x", core):
        return "roman"
    return "letter"


def split_criteria(text: str) -> list[Item]:
    """The items of a criteria text, in order, each with the section it sits in."""
    section = "unknown"
    items: list[Item] = []
    current: list[str] = []  # lines of the item being read
    group: list[str] | None = None  # a lead-in and its alternatives
    group_style = ""
    group_indent = 0
    current_style = ""
    current_indent = 0
    blank_before = True

    def flush() -> None:
        nonlocal current
        if current:
            line = " ".join(current).replace("\n ", "\n").strip()
            if group is not None:
                group.append(line)
            elif line:
                items.append(Item(section, line))
        current = []

    def close_group() -> None:
        nonlocal group
        flush()
        if group is not None:
            items.append(Item(section, "\n".join(group), any_of=True))
            group = None

    for raw in unescape(text or "").splitlines():
        line = raw.rstrip()
        if not line.strip():
            blank_before = True
            continue
        header = _HEADER.match(line.strip())
        if header and len(line.strip()) < 90:
            close_group()
            word = header.group(1).lower()
            section = ("inclusion" if word.startswith("inclusion") else
                       "exclusion" if word.startswith("exclusion") else section)
            rest = header.group("rest").strip()
            if rest:
                current = [rest]
                current_style, current_indent = "", 0
            blank_before = False
            continue
        marker = _MARKER.match(line)
        if marker:
            style = _style(marker.group("marker"))
            indent = len(marker.group("indent").expandtabs(4))
            body = marker.group("text").strip()
            if re.match(r"(?:or|and/or)\b", body, re.I) and (current or items) and group is None:
                # "* OR patients with RRMS": an alternative to the criterion before it
                if not current:
                    last = items.pop()
                    current = [last.text]
                current[-1] += "\n"
                current.append(body)
                blank_before = False
                continue
            if group is not None and style == group_style and indent <= group_indent:
                close_group()
            else:
                flush()
            current = [body]
            current_style, current_indent = style, indent
        elif blank_before:
            if group is not None and not group_style and not current_style:
                close_group()
            else:
                flush()
            current = [line.strip()]
            current_style, current_indent = "", len(line) - len(line.lstrip())
        else:
            current.append(line.strip())
        if group is None and current and current[-1].endswith(":") and len(current) == 1 \
                and _ANY_OF.search(current[0]):
            group = []
            group_style, group_indent = current_style, current_indent
            flush()
        blank_before = False
    close_group()
    return [i for i in items if re.search(r"[A-Za-z0-9]", i.text)]
