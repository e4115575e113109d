"""Equations and named values, the part of the equivalence policy in :mod:`.compare` that reads names.

- Two assignments name the same thing and give it the same value: ``x = 3`` is ``x=3``, not
  ``z = 3``; ``f(x) = 2x`` is ``f(t) = 2t`` (the argument renamed) and ``y = 2x``, not ``g(x) = 2x``.
- Otherwise two equations are compared as equations: the same variables and the same solution
  set, decided by ``l1 - r1`` being a constant multiple of ``l2 - r2`` (``y = x + 1`` is
  ``x - y + 1 = 0``; ``x = 3`` is ``2x = 6``; ``z = 4`` is not ``w = 4``).
- An equation against a bare value: the assignment's value (``x = 3`` for ``3``), or an equation
  solved for the one variable the value lacks (``xy = 6`` for ``\\frac{6}{x}``).
- Named values against a tuple (``y = 7, x = 3`` or ``(y, x) = (7, 3)`` against ``(3, 7)``) are put
  in the names' conventional order -- ``x, y, z``; ``a, b, c``; ``x_1, x_2, ...`` -- and compared
  in order. When the names have no such order (``m = 1, n = 2``; ``x = 1, b = 2``) the answer is
  ungradeable (:class:`.nodes.Ungradeable`, ``invalid``): which value is which would be a guess.

Limits: proportionality is sufficient, not necessary, for the same solution set (``(x - 1)^2 = 0``
is not recognised as ``x = 1``).
"""

from __future__ import annotations

import re
from typing import Callable

import sympy

from verifiers.math.nodes import Equation, Node, Scalar, Seq, Ungradeable, rename
from verifiers.math.numeric import Tolerance, sample
from verifiers.math.scan import split_top, wrapped

Eq = Callable[[Node, Node, Tolerance], bool]
_RATIO_RTOL = 1e-30  # round-off of a 50-digit evaluation (see numeric)
_CONVENTIONAL_ORDERS = ("xyz", "abc")


def name(lhs: str) -> str:
    """The name an assignment gives, spacing and braces removed: ``x_{1}`` -> ``x_1``."""
    return re.sub(r"\s+|[{}]|\\text", "", lhs)


def _function_name(lhs: str) -> str:
    return name(lhs.split("(", 1)[0])


def eq_equation(a: Node, b: Node, tol: Tolerance, eq: Eq) -> bool:
    """``a`` (the reference) and ``b`` when at least one of them is an :class:`Equation`."""
    if isinstance(a, Equation) and isinstance(b, Equation):
        if a.assignment and b.assignment:
            if a.params and b.params and _function_name(a.lhs) == _function_name(b.lhs):
                if len(a.params) == len(b.params):
                    return eq(a.rhs, rename(b.rhs, dict(zip(b.params, a.params))), tol)
                return False
            if name(a.lhs) == name(b.lhs) or _y_of_x(a, b) or _y_of_x(b, a):
                return eq(a.rhs, b.rhs, tol)
        return same_equation(a, b)
    equation, other = (a, b) if isinstance(a, Equation) else (b, a)
    assert isinstance(equation, Equation)
    if equation.assignment:
        named = named_values(Seq((equation,), ordered=False))
        if named and len(named) > 1 and isinstance(other, Seq) and other.ordered:  # (y, x) = (7, 3)
            return _named_vs_tuple(named, other, equation is a, tol, eq, written_order=True)
        return eq(equation.rhs, other, tol) if equation is a else eq(other, equation.rhs, tol)
    solved = _solve_for_missing(equation, other)
    return solved is not None and (eq(solved, other, tol) if equation is a else eq(other, solved, tol))


def _y_of_x(a: Equation, b: Equation) -> bool:
    """``y = 2x + 1`` and ``f(x) = 2x + 1`` define the same function of ``x``."""
    return name(a.lhs) == "y" and len(b.params) == 1 and b.params[0] == sympy.Symbol("x")


def _solve_for_missing(equation: Equation, other: Node) -> Scalar | None:
    """``xy = 6`` against ``6/x``: solve the equation for its one variable the answer lacks."""
    if not isinstance(equation.lhs_node, Scalar) or not isinstance(equation.rhs, Scalar) \
            or not isinstance(other, Scalar):
        return None
    expr = equation.lhs_node.expr - equation.rhs.expr
    missing = expr.free_symbols - other.expr.free_symbols
    if len(missing) != 1:
        return None
    try:
        solutions = sympy.solve(expr, *missing)
    except (NotImplementedError, ValueError, TypeError):
        return None
    return Scalar(solutions[0], str(solutions[0])) if len(solutions) == 1 else None


def same_equation(a: Equation, b: Equation) -> bool:
    """``l1 = r1`` and ``l2 = r2`` are the same equation when ``l1 - r1`` is a constant multiple of ``l2 - r2``."""
    exprs = []
    for e in (a, b):
        if not isinstance(e.lhs_node, Scalar) or not isinstance(e.rhs, Scalar):
            return False
        exprs.append(e.lhs_node.expr - e.rhs.expr)
    if exprs[0].free_symbols != exprs[1].free_symbols:
        return False
    ratios = [r for (r,) in sample(lambda v: (complex((exprs[0] / exprs[1]).evalf(50, subs=v)),), exprs)]
    return bool(ratios) and all(abs(r - ratios[0]) <= _RATIO_RTOL * max(1.0, abs(ratios[0])) for r in ratios)


def named_values(s: Seq) -> dict[str, Node] | None:
    """``a = 1, b = 2`` (or ``(a, b) = (1, 2)``) as ``{"a": 1, "b": 2}``; None unless every item
    assigns distinct names."""
    named: dict[str, Node] = {}
    count = 0
    for item in s.items:
        if not isinstance(item, Equation) or not item.assignment or item.params:
            return None
        shell = wrapped(item.lhs.strip())
        if shell and shell[0] == "(" and isinstance(item.rhs, Seq) and item.rhs.ordered:
            names = [name(n) for n in split_top(shell[1], [","])]
            if len(names) != len(item.rhs.items):
                return None
            named.update(zip(names, item.rhs.items))
            count += len(names)
        else:
            named[name(item.lhs)] = item.rhs
            count += 1
    return named if len(named) == count else None


def eq_named(a: Seq, b: Seq, tol: Tolerance, eq: Eq) -> bool | None:
    """Named values against named values or a tuple; ``None`` when neither side names its values."""
    named_a, named_b = named_values(a), named_values(b)
    if named_a and named_b:
        # "a = 1, b = 2": each name's value, not the multiset {1, 2} ("a = 2, b = 1" is wrong).
        return named_a.keys() == named_b.keys() and all(eq(named_a[n], named_b[n], tol) for n in named_a)
    if named_a and b.ordered and len(named_a) > 1:
        return _named_vs_tuple(named_a, b, True, tol, eq)
    if named_b and a.ordered and len(named_b) > 1:
        return _named_vs_tuple(named_b, a, False, tol, eq)
    return None


def _named_vs_tuple(named: dict[str, Node], point: Seq, named_is_ref: bool, tol: Tolerance, eq: Eq,
                    written_order: bool = False) -> bool:
    """Named values in their conventional order against a tuple. ``written_order``: the names were
    written as a tuple themselves (``(k, l) = (1, 2)``), so without a conventional order theirs counts."""
    if len(named) != len(point.items):
        return False
    order = conventional_order(list(named))
    if order is None and not written_order:  # feedback reaches the model: never the reference's names
        whose = "the reference's names" if named_is_ref else f"the names {', '.join(named)}"
        raise Ungradeable(f"{whose} have no conventional order to match a tuple with")
    values = Seq(tuple(named[n] for n in order or named), ordered=True, brackets=point.brackets)
    return eq(values, point, tol) if named_is_ref else eq(point, values, tol)


def conventional_order(names: list[str]) -> list[str] | None:
    """``names`` in their conventional order (``y, x`` -> ``x, y``), or ``None`` when they have none."""
    for letters in _CONVENTIONAL_ORDERS:
        if all(n in letters for n in names):
            return sorted(names, key=letters.index)
    indexed = [re.fullmatch(r"([A-Za-z])_(\d+)", n) for n in names]
    if all(indexed) and len({m.group(1) for m in indexed}) == 1:  # type: ignore[union-attr]
        return sorted(names, key=lambda n: int(n.split("_")[1]))
    return None
