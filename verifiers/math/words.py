"""Words in an answer: qualifiers, units and labels beside math, prose, and "no answer" answers.

:func:`strip_prose` prepares one list item for :mod:`.parse`: it cuts qualifiers ("for all x"),
turns a unit after a number into a ``\\unit{}`` marker (:mod:`.units`), drops a label before math
(``\\text{only } x = 0``), and returns prose as :class:`.nodes.Text`.

Answers that say there is no answer are grouped into the two meanings a grader uses, and any
spelling within a meaning is the same answer:

- *empty* -- the empty set, no solution: ``\\varnothing``, ``\\emptyset``, ``\\{\\}``, ``no solution``,
  ``no real solutions``, ``there are no real roots``, ``none``, ``the empty set``. Read as the
  empty set, so it also equals ``\\{\\}`` and ``x \\in \\emptyset``; it is not ``0``.
- *undefined* -- does not exist: ``DNE``, ``does not exist``, ``the limit does not exist``,
  ``undefined``, ``not defined``. Read as the text ``does not exist``.

The two meanings differ from each other (an equation with no solution is not an undefined
limit), and from ``\\infty``. Limits: ``none`` is read as *empty*; a bare ``no`` stays the word
(a yes/no answer).
"""

from __future__ import annotations

import re

import sympy

from verifiers.math import units
from verifiers.math.nodes import Node, SetNode, Text

TEXT_RE = re.compile(r"\\text\s*\{([^{}]*)\}")
_TEXT_BESIDE_MATH_RE = re.compile(r"(?<!_\{)\\text\{([^{}]*)\}((?:\s*\^\s*\{?\d\}?)?)")  # not 101_{\text{two}}
_QUALIFIER_RE = re.compile(
    r"\\text\{\s*(?:for|where|when|with|if|such|in which|which|so)\b.*$"
    r"|\s(?:for all|for some|for every|where|when)\s.*$", re.DOTALL)
_INFINITY_WORDS = frozenset({"infinitely many", "infinite", "infinity", "infinitely many solutions"})
_PROSE_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,} +[A-Za-z]{2,} +[A-Za-z]{2,}\b")
_MATH_RE = re.compile(r"[0-9\\^=<>()\[\]{}+*/-]|(?<![A-Za-z])[A-Za-z](?![A-Za-z])")
# What may follow a unit: the end of the item, a separator or a closing bracket.
_AFTER_UNIT_RE = re.compile(r"\s*(?:$|[,;)\]=]|\\\}|\\text\{\s*(?:and|or)\b|(?:and|or)\b)")

EMPTY_SYMBOLS = frozenset({r"\emptyset", r"\varnothing", r"\{\}", r"\{ \}", r"\O"})
UNDEFINED = "does not exist"
_QUALITY = r"(?:real|integer|integral|natural|positive|negative|rational|possible|valid|such|real-valued|complex)"
_THINGS = (r"(?:solutions?|roots?|values?|answers?|zeros?|numbers?|integers?|pairs?|triples?|points?"
           r"|intersections?|intersection points?|such \w+|x|n)")
_EMPTY_RE = re.compile(
    rf"^(?:there (?:is|are|exists?) )?no (?:{_QUALITY} )*{_THINGS}(?: (?:exists?|at all))?$"
    r"|^none(?: exists?)?$|^(?:it is |this is )?(?:the )?empty(?: set)?$|^(?:the )?solution set is empty$"
    r"|^(?:the equation|it) has no (?:\w+ )?(?:solutions?|roots?)$|^∅$")
_UNDEFINED_RE = re.compile(
    r"^(?:(?:the |this |it )?(?:\w+ )?(?:does not|doesn't|do not|don't) exists?|dne"
    r"|(?:(?:the |this )?(?:\w+ )?is )?(?:undefined|not defined))$")


def no_answer(words: str) -> Node | None:
    """The meaning of words that say there is no answer (see the module docstring), else ``None``."""
    words = " ".join(re.sub(r"[.!]", " ", words.lower()).split())
    if _EMPTY_RE.match(words):
        return SetNode(sympy.EmptySet)
    if _UNDEFINED_RE.match(words):
        return Text(UNDEFINED)
    return None


def strip_prose(s: str) -> str | Node:
    """Cut qualifiers ("for all x"), mark units, drop labels; prose becomes a :class:`.nodes.Text`
    (or the empty set, for words that say there is no solution)."""
    s = _QUALIFIER_RE.sub("", s).strip()
    s = re.sub(r"\\text\{\s*,?\s*\}", " ", s)
    s = units.unwrap_text_numbers(s)  # "\text{12 cm}" -> "12 \unit{cm}"
    outside = TEXT_RE.sub(" ", re.sub(r"\\unit\{[^{}]*\}", " ", s))
    if _PROSE_RE.search(outside) or not _MATH_RE.search(outside):
        words = " ".join(TEXT_RE.sub(r" \1 ", s).split()).lower().strip(" .")
        if words in _INFINITY_WORDS:
            return r"\infty"
        if not words:
            return ""
        return no_answer(words) or Text(words)
    # Text beside math is a unit ("5 \text{ km}") or a label ("\text{only } x = 0"), a scale word
    # is a power of ten ("5 \text{ million}"), and words that change the claim ("\text{at least } 5")
    # are left to fail parsing.
    s = _TEXT_BESIDE_MATH_RE.sub(_unit_or_label, s)
    return re.sub(r"\s+", " ", s).strip()


def _unit_or_label(m: re.Match[str]) -> str:
    words, power = m.group(1), re.sub(r"\s+", "", m.group(2))
    symbol = units.scaled_symbol(words + power)
    if symbol is None:
        return m.group(0)
    before, after = m.string[: m.start()].strip(), m.string[m.end():]
    trailing = bool(before) and not before.endswith(("=", ",", "(")) and _AFTER_UNIT_RE.match(after)
    if not trailing:
        return f"{symbol} "  # a label: dropped
    return f"{symbol}{units.unit_mark(units.unit_words(words + power))} "
