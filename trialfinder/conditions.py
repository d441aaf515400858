"""Is a trial about the condition asked for? The registry's condition search is loose.

``query.cond=multiple sclerosis`` also returns trials in *systemic* sclerosis
(REFERENCE.md s3: ConditionSearch weighs titles, keywords and synonyms). A trial
is kept when one of its conditions, keywords, condition MeSH terms or MeSH
ancestors names the asked condition or a narrower form of it: every word of the
asked text (normalised: case, accents, plurals, British spelling, generic words
such as "disease") appears in one of those texts. A MeSH ancestor naming it
means the trial's condition sits below it in the MeSH tree ("Multiple
Sclerosis" under "Demyelinating Diseases"). Abbreviations count where a record
in the answer spells them out ("Multiple Sclerosis (MS)", "MS (Multiple
Sclerosis)"), in both directions. No list of diseases is involved.

When unsure, the trial is shown: a record with no conditions, keywords or MeSH
terms at all; a record whose conditions the registry mapped to no MeSH term (in
an answer where others have MeSH terms) and whose words do not name the condition;
and every trial when the asked text names no MeSH term in the answer (free text
such as "long covid", which the registry matched through its own synonyms) or,
in an answer without any MeSH data, no condition or keyword.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .models import Trial

Tokens = frozenset[str]

# Words that say nothing about which condition: dropped from the asked text.
GENERIC = frozenset({
    "a", "an", "and", "by", "condition", "disease", "disorder", "for", "illness", "in", "of",
    "on", "or", "the", "to", "with",
})
_WORDS = re.compile(r"[a-z]+|\d+")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_ALTERNATIVES = re.compile(r"[,;/|+]|\bor\b", re.I)
_PAREN = re.compile(r"([^()]*?)\s*\(([^()]+)\)")
_SHORT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{1,9}$")


@lru_cache(maxsize=8192)
def tokens(text: str) -> Tokens:
    """Normalised words: ``"Parkinson's Diseases"`` -> ``{'parkinson'}``; ``"COVID-19"`` -> ``{'covid', '19'}``."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = _WORDS.findall(_POSSESSIVE.sub("", text))
    return frozenset(_normalise(w) for w in words if w not in GENERIC and _normalise(w) not in GENERIC)


@lru_cache(maxsize=4096)
def _normalise(word: str) -> str:
    """One spelling per word: singular, American (``tumours`` -> ``tumor``, ``oedema`` -> ``edema``)."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    word = word.replace("ae", "e").replace("oe", "e")
    return word[:-3] + "or" if len(word) > 5 and word.endswith("our") else word


def alternatives(condition: str) -> list[Tokens]:
    """The asked text's alternatives (split at ``, ; / |`` and ``or``), as word sets."""
    found: list[Tokens] = []
    for part in _ALTERNATIVES.split(condition):
        words = tokens(part)
        if words and words not in found:
            found.append(words)
    return found


def _long_form(short: str, text: str) -> str | None:
    """The shortest tail of ``text`` that ``short`` abbreviates (Schwartz & Hearst, 2003)."""
    s, t = short.lower(), text.lower()
    si, ti = len(s) - 1, len(t) - 1
    while si >= 0:
        ch = s[si]
        if not ch.isalnum():
            si -= 1
            continue
        while ti >= 0 and (t[ti] != ch or (si == 0 and ti > 0 and t[ti - 1].isalnum())):
            ti -= 1
        if ti < 0:
            return None
        si, ti = si - 1, ti - 1
    start = t.rfind(" ", 0, ti + 1) + 1
    long = text[start:].strip()
    return long if " " in long or "-" in long else None


@lru_cache(maxsize=4096)
def abbreviations(text: str) -> tuple[tuple[str, str], ...]:
    """``(short, long)`` pairs a text spells out: ``"Multiple Sclerosis (MS)"``, ``"MS (Multiple Sclerosis)"``."""
    pairs = []
    for match in _PAREN.finditer(text):
        before, inside = match.group(1).strip(), match.group(2).strip()
        if _SHORT.match(inside) and before:
            long = _long_form(inside, before)
            if long:
                pairs.append((inside, long))
        elif before and _SHORT.match(before.split()[-1]) and len(before.split()) == 1:
            long = _long_form(before, inside)
            if long and long == inside:
                pairs.append((before, inside))
    return tuple(pairs)


def condition_texts(trial: Trial) -> tuple[str, ...]:
    """Everything a trial says about its condition."""
    return (*trial.conditions, *trial.keywords, *trial.condition_meshes)


@dataclass
class ConditionCheck:
    """Judges the trials of one answer against the asked condition.

    Feed every trial the answer holds to :meth:`observe` (abbreviations spelt out
    anywhere in the answer count for all of it), then ask :meth:`on_condition`.
    """

    condition: str
    asked: list[Tokens] = field(init=False)
    _learned: list[Tokens] = field(default_factory=list, init=False)
    _mesh_words: set[Tokens] = field(default_factory=set, init=False)
    _text_words: set[Tokens] = field(default_factory=set, init=False)
    _final: list[Tokens] | None = field(default=None, init=False)
    _judged: bool | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.asked = alternatives(self.condition)

    @property
    def active(self) -> bool:
        """False when there is nothing to check against (``-c any``, only generic words)."""
        return bool(self.asked)

    def observe(self, trial: Trial) -> None:
        """Learn from one trial of the answer: its abbreviations and its MeSH vocabulary."""
        if not self.asked:
            return
        self._final = self._judged = None
        for text in (*trial.conditions, *trial.keywords):
            self._text_words.add(tokens(text))
            if "(" in text:
                for short, long in abbreviations(text):
                    self._learn(tokens(short), tokens(long))
        for term in trial.condition_meshes:
            self._mesh_words.add(tokens(term))

    def _learn(self, short: Tokens, long: Tokens) -> None:
        if not short or not long:
            return
        for alt in self.asked:
            if alt <= long and short not in self._learned:
                self._learned.append(short)  # "RMS" = "Relapsing Multiple Sclerosis"
            if alt == short and long not in self._learned:
                self._learned.append(long)  # asked "MS"; "MS (Multiple Sclerosis)"

    @property
    def names(self) -> list[Tokens]:
        """The asked alternatives and the abbreviations or long forms learnt for them."""
        if self._final is None:
            self._final = self.asked + [t for t in self._learned if t not in self.asked]
        return self._final

    @property
    def judged(self) -> bool:
        """Whether trials are checked at all: the asked text names a MeSH term in the
        answer, or (an answer without MeSH data) a condition or keyword."""
        if self._judged is None:
            vocabulary = self._mesh_words or self._text_words
            self._judged = bool(self.asked) and any(
                alt <= words for words in vocabulary for alt in self.names
            )
        return self._judged

    def names_it(self, trial: Trial, names: Iterable[Tokens] | None = None) -> bool | None:
        """Does the trial name the condition? None when it says nothing about its condition."""
        texts = condition_texts(trial)
        if not texts:
            return None
        alts = list(self.names if names is None else names)
        return any(alt <= tokens(text) for text in texts for alt in alts)

    def surely_on(self, trial: Trial) -> bool:
        """On condition whatever the rest of the answer holds (for stopping a walk early)."""
        return not self.asked or self.names_it(trial, self.asked) is not False

    def on_condition(self, trial: Trial) -> bool:
        """Keep this trial? Call after every trial of the answer was observed."""
        if not self.judged:
            return True
        return self.names_it(trial) is not False or self.unsure(trial)

    def unsure(self, trial: Trial) -> bool:
        """Kept unchecked: the trial says nothing about its condition, or (in an answer with
        MeSH data) its conditions match no MeSH term and its words do not name the condition:
        free text the registry could not classify, matched through titles or synonyms."""
        if not self.judged:
            return False
        named = self.names_it(trial)
        return named is None or (named is False and bool(self._mesh_words) and not trial.condition_meshes)

    def describe(self) -> str:
        """How the check went, for a footer: empty when trials were checked."""
        if self.asked and (self._mesh_words or self._text_words) and not self.judged:
            return (f"'{self.condition.strip()}' names no condition term of these trials, so they "
                    "were not checked against it.")
        return ""


def unchecked_line(trials: list[Trial], condition: str) -> str:
    """Trials shown although nothing in them names the condition (see ConditionCheck.unsure)."""
    if not trials:
        return ""
    ids = ", ".join(t.nct_id for t in trials[:5]) + (", ..." if len(trials) > 5 else "")
    if len(trials) == 1:
        conditions = "; ".join(trials[0].conditions) or "none listed"
        return (f"1 trial shown unchecked: its conditions ({conditions}) match no MeSH term and do "
                f"not name {condition.strip()} ({ids}).")
    return (f"{len(trials)} trials shown unchecked: their conditions match no MeSH term and do not "
            f"name {condition.strip()} ({ids}).")


def left_out_line(trials: list[Trial], condition: str, option: str) -> str:
    """``'1 trial left out: its conditions (Scleroderma, Diffuse) are not multiple sclerosis'``."""
    if not trials:
        return ""
    asked = condition.strip()
    if len(trials) == 1:
        conditions = "; ".join(trials[0].conditions) or "none listed"
        line = f"1 trial left out: its conditions ({conditions}) are not {asked}"
        return f"{line} ({trials[0].nct_id}; {option} shows it)."
    ids = ", ".join(t.nct_id for t in trials[:5]) + (", ..." if len(trials) > 5 else "")
    return f"{len(trials)} trials left out: their conditions are not {asked} ({ids}; {option} shows them)."
