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

_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)"
#: Binary operators as they appear after normalize() (unicode is rewritten to LaTeX there).
_OP = r"(?:\+|-|\*|/|\\times|\\cdot|\\div|\\ast)"
_FRACTION = re.compile(rf"^(?:\d+\s*(?=\\frac)|\d+\s+(?=\d+\s*/))?"  # a mixed number's whole part: 2 1/2, 2\frac12
                       rf"(?:\\frac\s*\{{\s*{_NUM}\s*\}}\s*\{{\s*{_NUM}\s*\}}|{_NUM}\s*/\s*{_NUM})$")
_FRAC = re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
#: Numbers, operators, brackets and spaces only: an arithmetic expression (or a plain number).
_ARITHMETIC = re.compile(rf"^(?:{_NUM}|{_OP}|[\s(){{}}\[\]])+$")
#: A number, an operator, a number (brackets and a sign between them allowed).
_OPERATION = re.compile(rf"{_NUM}[\s)}}\]]*{_OP}[\s({{\[]*[-+]?\s*{_NUM}")


def unevaluated(text: str) -> bool:
    """True when ``text`` (a normalised answer) is an operation on numbers rather than a number."""
    s = re.sub(r"^[-+]\s*", "", text.strip().rstrip("."))  # a sign is part of the number
    if not s or "^" in s or _FRACTION.match(s):  # powers: the notation of big and exact numbers (2^{64} - 1)
        return False
    s = _FRAC.sub(r"(\1)/(\2)", s)
    if not _ARITHMETIC.match(s):  # words, radicals, constants, units, relations: not this rule's to judge
        return False
    return bool(_OPERATION.search(s))
