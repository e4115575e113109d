"""Static limits that keep one math verification cheap, checked before and after parsing.

These limits are the first line of defence; the hard wall-clock deadline and the memory cap
live in :mod:`verifiers.runtime` (out of process). The guards here exist so that the known
hostile shapes fail *fast* and *in-process* too, instead of merely being killed at the deadline:

- text longer than ``MAX_ANSWER_CHARS`` after extraction is not parsed at all;
- bracket nesting deeper than ``MAX_NESTING`` is not parsed (the ANTLR parser and sympy both
  recurse per level);
- after an unevaluated parse, :func:`check_size` rejects integer powers whose value would have
  more than ``MAX_DIGITS`` digits (``9^{9^{9^9}}``), symbolic powers above ``MAX_SYMBOLIC_EXPONENT``
  (``(x+1)^{10^9}`` would be expanded by ``simplify``) and factorials / binomials / gamma of
  arguments above ``MAX_FACTORIAL_ARG`` (``(10^{10})!``).

Limits: this is an estimate over the expression tree, not a proof. Expressions that are cheap to
write but expensive for ``simplify`` in other ways (huge nested radicals, large polynomial
systems) are left to the runtime's deadline.
"""

from __future__ import annotations

import math

import sympy

MAX_ANSWER_CHARS = 2_000
MAX_NESTING = 40
MAX_DIGITS = 10_000
MAX_SYMBOLIC_EXPONENT = 1_000
MAX_FACTORIAL_ARG = 1_000
MAX_TREE_NODES = 2_000

_OPEN = "([{"
_CLOSE = ")]}"


class TooComplex(ValueError):
    """The answer is outside the limits above; the verifier reports it as ``invalid``."""


def check_text(text: str) -> None:
    """Reject answers that are too long or too deeply nested to parse safely."""
    if len(text) > MAX_ANSWER_CHARS:
        raise TooComplex(f"answer has {len(text)} characters (limit {MAX_ANSWER_CHARS})")
    depth = 0
    for ch in text:
        if ch in _OPEN:
            depth += 1
            if depth > MAX_NESTING:
                raise TooComplex(f"answer nests brackets deeper than {MAX_NESTING}")
        elif ch in _CLOSE:
            depth = max(0, depth - 1)


def _log10_abs(expr: sympy.Basic) -> float | None:
    """Upper estimate of log10|expr| for a numeric subtree, ``None`` if not numeric.

    Works on *unevaluated* trees and never evaluates a big power: a power's size is
    ``exponent * log10|base|``, computed in floats (inf on overflow).
    """
    if expr.is_Integer or expr.is_Rational:
        p, q = expr.as_numer_denom() if not expr.is_Integer else (expr, 1)
        return max(_int_log10(int(p)), _int_log10(int(q)))
    if expr.is_Float:
        return math.log10(abs(float(expr))) if expr != 0 else 0.0
    if expr.is_NumberSymbol or expr == sympy.I:
        return 1.0
    if isinstance(expr, sympy.Pow):
        base, exp = (_log10_abs(a) for a in expr.args)
        if base is None or exp is None:
            return None
        return min(_pow10(exp), math.inf) * max(base, 0.0)
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        parts = [_log10_abs(a) for a in expr.args]
        if any(p is None for p in parts):
            return None
        return sum(max(p, 0.0) for p in parts) + 1.0  # type: ignore[arg-type]
    return None


def _int_log10(n: int) -> float:
    return float(len(str(abs(n)))) if abs(n) > 10**15 else math.log10(abs(n) or 1)


def _pow10(x: float) -> float:
    return math.inf if x > 300 else 10.0**x


def check_size(expr: sympy.Basic) -> None:
    """Reject an unevaluated sympy tree whose evaluation would be unreasonably expensive."""
    if not isinstance(expr, sympy.Basic):
        return
    count = 0
    for node in sympy.preorder_traversal(expr):
        count += 1
        if count > MAX_TREE_NODES:
            raise TooComplex(f"expression has more than {MAX_TREE_NODES} nodes")
        if isinstance(node, sympy.Pow):
            size = _log10_abs(node)
            if size is not None and size > MAX_DIGITS:
                raise TooComplex(f"a power in the answer has more than {MAX_DIGITS} digits")
            exp_size = _log10_abs(node.args[1])
            if size is None and exp_size is not None and exp_size > math.log10(MAX_SYMBOLIC_EXPONENT):
                raise TooComplex(f"a symbolic power has an exponent above {MAX_SYMBOLIC_EXPONENT}")
        elif isinstance(node, (sympy.factorial, sympy.gamma, sympy.binomial, sympy.factorial2)):
            for arg in node.args:
                size = _log10_abs(arg)
                if size is not None and size > math.log10(MAX_FACTORIAL_ARG):
                    raise TooComplex(f"a factorial argument exceeds {MAX_FACTORIAL_ARG}")
