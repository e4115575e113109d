"""Multiple-choice letters: is a reference a choice, and which choice does an answer name.

A reference is a choice when, with its formatting removed, it is one letter A-J, optionally in
parentheses: ``B``, ``(B)``, ``\\textbf{(B)}``.

An extracted answer names a choice when, with ``\\text{}`` / ``\\textbf{}`` / ``\\mathrm{}`` (and
similar) wrappers, ``$`` and markdown ``**`` removed, it starts with the letter -- ``B``, ``(B)``,
``[B]``, ``B)``, ``B.``, ``B: 12``, ``(B) 12`` -- or with ``option`` / ``choice`` / ``answer`` and
then the letter (``option B``, ``Option (B)``, ``choice: C``). The letter must stand alone: the
``B`` of ``Because`` is not a choice, nor the ``I`` of ``I choose (B)``. Lower case counts inside parentheses, after one of those
words, or as the whole answer. An answer that names a second choice (``B or C``, ``B, D``) is
ambiguous and names none.

When no extracted answer names a choice and no answer marker was found, :func:`in_prose`
looks through the whole completion for affirmative mentions -- ``is option B``, ``I choose
(B)``, ``pick \\textbf{(B)}``, ``(B) is correct`` -- and reads them only when they all name the
same letter. Mentions that are not affirmative (``rule out option A``, ``(A) fails``) are not
read: a completion that walks through ``(A)`` ... ``(D)`` names no choice.

Limits: only letters A-J; a choice written as its content (``12`` for ``(B) 12``) is not read.
"""

from __future__ import annotations

import re

_WRAPPER_RE = re.compile(r"\\(?:text|textbf|textit|textrm|textsf|texttt|textnormal|mathrm|mathbf|mathit|"
                         r"mathsf|mathtt|mbox|emph|boxed|fbox|operatorname)\s*\{([^{}]*)\}")
_REFERENCE_RE = re.compile(r"^[(\[]?([A-J])[)\]]?\.?$")
_KEYWORD = r"(?:the\s+)?(?:correct\s+|final\s+|right\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:=]?\s*"
_ANSWER_RE = re.compile(rf"^(?P<kw>{_KEYWORD})?(?P<open>[(\[])?(?P<letter>[A-Ja-j])(?P<close>[)\]])?"
                        r"(?![A-Za-z0-9])", re.IGNORECASE)
# Letters are upper case in these two: "(a)" in prose is as often a function argument as a choice.
_SECOND_RE = re.compile(r"^\s*(?:,|;|/|&|\\&|(?i:and|or)\b)\s*[(\[]?[A-J][)\]]?(?![A-Za-z0-9])")
# Prose names a choice only affirmatively: "is option B", "I choose (B)", "(B) is correct" -- not
# "we can rule out option A" or "(A) fails". Negated verbs ("not choose B") do not count.
_LETTER = r"(?:\\text(?:bf)?\s*\{\s*)?[(\[]?([A-J])[)\]]?(?:\s*\})?(?![A-Za-z0-9])"
_PROSE_RE = re.compile(
    r"(?<!not )(?<!n't )(?<!never )\b(?i:is|choose|chose|pick|picked|select|selected|go with|answer)\s*:?\s*"
    rf"(?:(?i:the\s+)?(?i:correct\s+|right\s+|best\s+)?(?i:option|choice|answer)\s*:?\s*)?{_LETTER}"
    rf"|{_LETTER}\s+(?i:is\s+(?:the\s+)?(?:correct|right|answer|true)\b)")

AMBIGUOUS = "ambiguous"


def _clean(text: str) -> str:
    """Formatting removed: LaTeX text wrappers (nested ones too), ``$``, ``**``/``__``, trailing full stop."""
    previous = None
    while previous != text:
        previous, text = text, _WRAPPER_RE.sub(r"\1", text)
    text = re.sub(r"\\[()\[\]]|\$|\*\*|__", " ", text)
    return " ".join(text.split()).strip().rstrip(".").strip()


def reference_letter(reference: str) -> str | None:
    """The letter when ``reference`` is a choice (``B``, ``(B)``, ``\\textbf{(B)}``), else ``None``."""
    m = _REFERENCE_RE.match(_clean(reference))
    return m.group(1) if m else None


def answer_letter(answer: str) -> str | None:
    """The letter an extracted answer names, :data:`AMBIGUOUS`, or ``None`` (see the module docstring)."""
    text = _clean(answer)
    m = _ANSWER_RE.match(text)
    if not m:
        return None
    letter = m.group("letter")
    whole = m.end() == len(text)
    if letter.islower() and not (m.group("kw") or m.group("open") or whole):
        return None  # "a proof ...", "b is ..." are words, not choices
    bare = not (m.group("kw") or m.group("open") or whole)
    if bare and text[m.end()] not in ").:,; \t":
        return None
    if bare and letter in "AI" and re.match(r"\s+[a-z]", text[m.end():]):
        return None  # the article in "A cat", the pronoun in "I choose (B)"
    if _SECOND_RE.match(text[m.end():]):
        return AMBIGUOUS
    return letter.upper()


def in_prose(completion: str) -> str | None:
    """The one letter that every affirmative mention names (see the module docstring), else ``None``."""
    letters = set()
    for m in _PROSE_RE.finditer(completion):
        letter = next(g for g in m.groups() if g)
        bare = m.group(0).endswith(letter) and not m.group(0)[:-1].rstrip().endswith(("(", "[", "{"))
        if bare and letter in "AI" and re.match(r"\s+[a-z]", completion[m.end():]):
            continue  # the article in "it is A good idea"
        letters.add(letter)
    return letters.pop() if len(letters) == 1 else None
