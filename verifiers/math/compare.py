"""Decide whether two parsed answers are mathematically the same: the equivalence policy.

Values (see :mod:`.numeric` for how equality is decided):

- an *exact* reference (integer, fraction, radical, pi, e, complex number, closed form or
  expression) accepts only an answer that is exactly equal, written any way: ``\\frac{1}{\\sqrt{2}}``
  for ``\\frac{\\sqrt{2}}{2}``, ``0.5`` for ``\\frac12``, ``e^{i\\pi}`` for ``-1``. A decimal
  approximation is not equal: ``0.667`` is not ``\\frac23``, ``1.41`` is not ``\\sqrt2``. Integers and
  rationals compare exactly at any size; other values to sympy's 50-digit evaluation, whose
  round-off is the only slack.
- a *decimal* reference (written with a decimal point: ``0.33``, ``2.50``, ``1.5 \\times 10^3``) is
  known to its last digit: an answer that rounds to it there is equal (``\\frac13`` or ``0.333``
  for ``0.33``), a less precise one is not (``0.3``).
- tolerance is opt-in (:class:`Tolerance`): ``rel_tol`` (relative), ``rounding`` (a decimal
  answer that rounds the exact reference), ``integer_tol`` (both also for integer references).

Readings: percent and degree signs are read both ways when only one side has them (``25%`` ~
``0.25`` ~ ``25``; ``30^\\circ`` ~ ``\\pi/6`` ~ ``30``). The letter ``i`` is the imaginary unit
(:mod:`.numbers`). Bare lists are compared as multisets, bracketed tuples in order, ``{...}`` sets
as sets; relations, intervals and matrices by their parts; equations as equations, with their
variables, and named values against tuples in the names' conventional order (:mod:`.equations`).

Units are compared when both sides carry one, converting within a dimension (``5 km`` is
``5000 m``, not ``5 m``; :mod:`.dimensions`); against a bare number the number counts. A numeral
with a base subscript is its value (``1101_2`` is ``13``); a bare numeral against a reference with
a base is read in that base (``1101`` for ``1101_2``). "No solution" and "does not exist" answers
are two meanings, each with many spellings (:mod:`.words`).

Limits: expressions with free symbols are compared at random points (see :mod:`.numeric`);
undefined functions and expressions that evaluate to non-numbers fall back to
``sympy.simplify`` and, failing that, compare unequal.
"""

from __future__ import annotations

import dataclasses
import math
import re

import sympy

from verifiers.math import dimensions, equations, numbers
from verifiers.math.nodes import Equation, MatrixNode, Node, Relation, Scalar, Seq, SetNode, Text, rename
from verifiers.math.numeric import Reading, Tolerance, values_equal
from verifiers.math.parse import ParseError, _as_set

__all__ = ["Tolerance", "equivalent"]

_MAX_ITEMS = 64


_PARAMETER_NAMES = frozenset("knmtlcC")
_NEGATIONS = frozenset("not no never neither nor cannot impossible none isn't doesn't don't".split())


def equivalent(ref: Node, cand: Node, tol: Tolerance, question: str | None = None) -> bool:
    """True when ``cand`` is a correct way of writing ``ref``.

    If that fails and each side has exactly one free symbol the other lacks, and both are free
    parameters (absent from ``question``, or when no question is given, one of ``k n m t l c``),
    the candidate's parameter is renamed: ``k\\pi`` ~ ``n\\pi``.
    """
    if _eq(ref, cand, tol):
        return True
    ref_only, cand_only = _symbols(ref) - _symbols(cand), _symbols(cand) - _symbols(ref)
    if len(ref_only) == 1 and len(cand_only) == 1:
        (a,), (b,) = ref_only, cand_only
        if _is_parameter(a, question) and _is_parameter(b, question):
            return _eq(ref, rename(cand, {b: a}), tol)
    return False


def _is_parameter(symbol: sympy.Symbol, question: str | None) -> bool:
    name = str(symbol)
    if question is None:
        return name in _PARAMETER_NAMES
    return re.search(rf"(?<![A-Za-z\\]){re.escape(name)}(?![A-Za-z])", question) is None


def _symbols(node: Node) -> set[sympy.Symbol]:
    if isinstance(node, Scalar):
        return set(node.expr.free_symbols)
    if isinstance(node, SetNode):
        return set(node.value.free_symbols)
    children: list[Node] = []
    if isinstance(node, (Seq, Relation)):
        children = list(node.items if isinstance(node, Seq) else node.operands)
    elif isinstance(node, Equation):  # an assignment's name is not a free symbol of its value
        children = [node.rhs] + ([node.lhs_node] if node.lhs_node and not node.assignment else [])
    elif isinstance(node, MatrixNode):
        children = [x for r in node.rows for x in r]
    out: set[sympy.Symbol] = set()
    for c in children:
        out |= _symbols(c)
    return out - set(node.params) if isinstance(node, Equation) else out


def _eq(a: Node, b: Node, tol: Tolerance) -> bool:
    if isinstance(a, Equation) or isinstance(b, Equation):
        return equations.eq_equation(a, b, tol, _eq)
    if isinstance(a, Seq) and len(a.items) == 1 and not a.brackets:
        return _eq(a.items[0], b, tol)
    if isinstance(b, Seq) and len(b.items) == 1 and not b.brackets:
        return _eq(a, b.items[0], tol)
    if isinstance(a, Scalar) and isinstance(b, Scalar):
        return _eq_scalar(a, b, tol)
    if isinstance(a, Seq) and isinstance(b, Seq):
        return _eq_seq(a, b, tol)
    if isinstance(a, SetNode) or isinstance(b, SetNode):
        return _eq_set(a, b, tol)
    if isinstance(a, MatrixNode) or isinstance(b, MatrixNode):
        return _eq_matrix(a, b, tol)
    if isinstance(a, Relation) and isinstance(b, Relation):
        return a.ops == b.ops and all(_eq(x, y, tol) for x, y in zip(a.operands, b.operands))
    a, b = _as_text(a), _as_text(b)
    if isinstance(a, Text) and isinstance(b, Text):
        return _canon_words(a.words) == _canon_words(b.words) or (tol.text_containment and _phrase_in(b.words, a.words))
    return False


def _as_text(n: Node) -> Node:
    """A list of prose items reads as one phrase: ``line segment, circle``."""
    if isinstance(n, Seq) and not n.ordered and n.items and all(isinstance(i, Text) for i in n.items):
        return Text(" and ".join(i.words for i in n.items))  # type: ignore[union-attr]
    return n


def _canon_words(s: str) -> str:
    return re.sub(r"\s*(?:,|\band\b)\s*", " and ", s).strip()


def _phrase_in(answer: str, reference: str) -> bool:
    """A short text answer stated in a reference sentence ("Petya" in "Petya will win.").

    Not when the reference contains a negation ("not odd"), and not for answers shorter
    than three letters.
    """
    ref_words = re.findall(r"[\w']+", reference)
    words = re.findall(r"[\w']+", answer)
    if not words or sum(len(w) for w in words) < 3 or _NEGATIONS & set(ref_words):
        return False
    n = len(words)
    return any(ref_words[i : i + n] == words for i in range(len(ref_words) - n + 1))


# --- structure -------------------------------------------------------------------------------

def _eq_seq(a: Seq, b: Seq, tol: Tolerance) -> bool:
    if len(a.items) != len(b.items) or len(a.items) > _MAX_ITEMS:
        return False
    named = equations.eq_named(a, b, tol, _eq)
    if named is not None:
        return named
    if a.ordered and b.ordered:
        if a.brackets != b.brackets and "[" in a.brackets + b.brackets:
            return False  # [a, b] is not (a, b)
        return all(_eq(x, y, tol) for x, y in zip(a.items, b.items))
    if (a.ordered or b.ordered) and "{}" not in (a.brackets, b.brackets):
        if all(_eq(x, y, tol) for x, y in zip(a.items, b.items)):
            return True
    return _multiset_match(a.items, b.items, tol)


def _multiset_match(xs: tuple[Node, ...], ys: tuple[Node, ...], tol: Tolerance) -> bool:
    """Perfect matching between equal-size lists (augmenting paths; lists are short)."""
    match_of_y: dict[int, int] = {}
    cache: dict[tuple[int, int], bool] = {}

    def same(i: int, j: int) -> bool:
        if (i, j) not in cache:
            cache[(i, j)] = _eq(xs[i], ys[j], tol)
        return cache[(i, j)]

    def augment(i: int, seen: set[int]) -> bool:
        for j in range(len(ys)):
            if j not in seen and same(i, j):
                seen.add(j)
                if j not in match_of_y or augment(match_of_y[j], seen):
                    match_of_y[j] = i
                    return True
        return False

    return all(augment(i, set()) for i in range(len(xs)))


def _eq_set(a: Node, b: Node, tol: Tolerance) -> bool:
    try:
        sa, sb = _as_set(a), _as_set(b)
    except ParseError:
        return False
    if sa == sb:
        return True
    ia, ib = _intervals(sa), _intervals(sb)
    if ia is None or ib is None or len(ia) != len(ib):
        return False
    return all(
        x.left_open == y.left_open and x.right_open == y.right_open
        and values_equal(Reading(x.start), Reading(y.start), tol)
        and values_equal(Reading(x.end), Reading(y.end), tol)
        for x, y in zip(ia, ib)
    )


def _intervals(s: sympy.Set) -> list[sympy.Interval] | None:
    parts = list(s.args) if isinstance(s, sympy.Union) else [s]
    out = []
    for p in parts:
        if isinstance(p, sympy.FiniteSet) and len(p) == 1:
            (v,) = p.args
            p = sympy.Interval(v, v)
        if not isinstance(p, sympy.Interval):
            return None
        out.append(p)
    return sorted(out, key=lambda i: float(i.start) if i.start.is_finite else -math.inf)


def _eq_matrix(a: Node, b: Node, tol: Tolerance) -> bool:
    ra, rb = _matrix_items(a), _matrix_items(b)
    if ra is None or rb is None or len(ra) != len(rb):
        return False
    return all(_eq(x, y, tol) for x, y in zip(ra, rb))


def _matrix_items(n: Node) -> list[Node] | None:
    """A column/row vector equals a tuple; a general matrix only another matrix of its shape."""
    if isinstance(n, MatrixNode):
        if len(n.rows) == 1 or all(len(r) == 1 for r in n.rows):
            return [x for r in n.rows for x in r]
        return [Seq(r, True, "()") for r in n.rows]
    if isinstance(n, Seq) and n.ordered:
        return list(n.items)
    return None


# --- values ----------------------------------------------------------------------------------

def _eq_scalar(a: Scalar, b: Scalar, tol: Tolerance) -> bool:
    """``a`` is the reference: its decimal places (if any) set the precision of the comparison.

    Units are compared when both sides carry one (``b`` converted to ``a``'s, :mod:`.dimensions`).
    A numeral written without a base against a reference with one is read in the reference's base
    (``1101`` for ``1101_2``), as the question asked for that base.
    """
    if a.unit and b.unit and dimensions.read(a.unit) != dimensions.read(b.unit):
        factor = dimensions.conversion(b.unit, a.unit)
        if factor is None:
            return False
        b = dataclasses.replace(b, expr=b.expr * factor, places=None)
    if a.base and not b.base:
        value = numbers.reread_in_base(b.text, a.base)
        if value is None:
            return False
        b = dataclasses.replace(b, expr=value, places=None)
    return any(values_equal(ra, rb, tol) for ra in _readings(a, b) for rb in _readings(b, a))


def _readings(x: Scalar, other: Scalar) -> list[Reading]:
    """``x`` as written, and as a fraction (percent) or in radians (degrees) when ``other`` lacks the sign."""
    out = [Reading(x.expr, x.places)]
    if x.percent and not other.percent:
        out.insert(0, Reading(x.expr / 100, None if x.places is None else x.places + 2))
    if x.degrees and not other.degrees:
        out.append(Reading(x.expr * sympy.pi / 180))
    return out
