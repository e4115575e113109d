"""Whether an answer states a value or only an arithmetic expression of numbers (``99 + 16``).

sympy evaluates what it parses, so ``99 + 16`` equals ``115`` and, without this rule, restating the
question ("The answer is 99 + 16.") is graded correct. GRPO finds that in a dozen steps on
arithmetic (2026-12-07: a 135M policy went to 0.99 on a dev split by answering every problem with
its own operands). So where the reference is a rational number, an answer written as an
operation on numbers is not its value and is graded wrong; the feedback says to evaluate it.

What still counts as a written value: a number with a sign, decimals, one fraction of two
integers (``\\frac{3}{4}``, ``6/8``) or a mixed number (``2 1/2``), anything with a power (the
notation of big and exact numbers: ``6.02 \\times 10^{23}``, ``2^{64} - 1``), and everything that
is not only numbers and the four operations (radicals, pi, variables, units). So an irrational
reference's canonical form (``3 + 2\\sqrt{2}``) is untouched: the rule applies only to rational
references.

Limits: it reads the answer's text, so an expression hidden in words ("ninety-nine plus
sixteen") is not caught, nor a restated power (``2^{10}`` for "what is 2^10?") or root
(``\\sqrt{16}``).
"""

from __future__ import annotations

import re

_FRAC = re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_OPS = re.compile(r"\\(?:times|cdot|div|ast)(?![a-zA-Z])")
#: Digits, points, operators, brackets and spaces only: an arithmetic expression (or a plain number).
_ARITHMETIC = re.compile(r"[\d.\s+\-*/(){}\[\]]*")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|\.\d+|[-+*/]")
_OPERATORS = frozenset("+-*/")


def unevaluated(text: str) -> bool:
    """True when ``text`` (a normalised answer) is an operation on numbers rather than a number.

    Character classes and one left-to-right tokenisation only: linear in the answer's length
    (alternatives of digit runs under a repeat would backtrack exponentially on long digit runs).
    """
    s = text.strip().rstrip(".")
    if not s or "^" in s:  # powers: the notation of big and exact numbers (2^{64} - 1)
        return False
    s = _FRAC.sub(r"(\1)/(\2)", _LATEX_OPS.sub("*", s))
    if not _ARITHMETIC.fullmatch(s):  # words, radicals, constants, units, relations: not this rule's to judge
        return False
    tokens = _TOKEN.findall(s)  # brackets dropped: they do not change whether an operation is written
    if tokens[:1] in (["-"], ["+"]):  # a sign is part of the number
        tokens = tokens[1:]
    kinds = ["op" if t in _OPERATORS else "num" for t in tokens]
    if kinds in (["num", "op", "num"], ["num", "num", "op", "num"]) and tokens[-2] == "/":
        return False  # one fraction (6/8, \frac{3}{4}) or a mixed number (2 1/2, 2\frac{1}{2})
    return "op" in kinds and kinds.count("num") >= 2
