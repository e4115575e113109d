"""The parsed shapes of a math answer: scalars, sequences, sets, equations, relations, text."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

import sympy


@dataclass(frozen=True)
class Scalar:
    """One value, exact. ``places`` is set when it was written as a decimal with a point: the last
    written digit is at 10^-places (``0.33`` -> 2, ``5.0`` -> 1, ``6.02 \\times 10^{23}`` -> -21).
    As a reference such a value is known only to that digit (see :mod:`.numeric`).
    ``unit`` is the unit written after it (``km``, ``m/s``; see :mod:`.dimensions`), ``base`` the
    base of a numeral written with a base subscript (``1101_2``: ``expr`` is 13, ``base`` 2)."""

    expr: sympy.Expr
    text: str
    places: int | None = None
    percent: bool = False
    degrees: bool = False
    unit: str | None = None
    base: int | None = None


@dataclass(frozen=True)
class Seq:
    """Several values: a bare list (``ordered=False``), a tuple or interval-like ``(a, b]``, a set ``{...}``."""

    items: tuple["Node", ...]
    ordered: bool
    brackets: str = ""


@dataclass(frozen=True)
class SetNode:
    """A subset of the reals: intervals, unions, solution sets of inequalities."""

    value: sympy.Set


@dataclass(frozen=True)
class Equation:
    """``lhs = rhs``. ``params`` are the argument names of a definition such as ``f(x) = ...``.

    ``assignment``: the left side is a name (``x``, ``f(x)``, ``(x, y)``, ``Total``), so ``rhs`` is its
    value. ``lhs_node`` is the parsed left side: always for an equation that is not an
    assignment, and for an assignment to one variable (``y = x + 1``), so that it can also be
    compared as an equation (``x - y + 1 = 0``)."""

    lhs: str
    rhs: "Node"
    assignment: bool
    params: tuple[sympy.Symbol, ...] = ()
    lhs_node: "Node | None" = None


@dataclass(frozen=True)
class Relation:
    """A chain like ``a < b <= c`` that is not an interval of one variable; ops normalised to < / <=."""

    ops: tuple[str, ...]
    operands: tuple["Node", ...]


@dataclass(frozen=True)
class MatrixNode:
    rows: tuple[tuple["Node", ...], ...]


@dataclass(frozen=True)
class Text:
    """Prose: compared as normalised words."""

    words: str


class Ungradeable(ValueError):
    """Both answers are readable but cannot be compared without guessing (the verifier says ``invalid``)."""


Node = Union[Scalar, Seq, SetNode, Equation, Relation, MatrixNode, Text]


def rename(node: Node, mapping: dict[sympy.Symbol, sympy.Symbol]) -> Node:
    """``node`` with its symbols renamed (``k\\pi`` -> ``n\\pi``; the argument of ``f(t) = 2t``)."""
    if isinstance(node, Scalar):
        return replace(node, expr=node.expr.xreplace(mapping))
    if isinstance(node, Seq):
        return Seq(tuple(rename(i, mapping) for i in node.items), node.ordered, node.brackets)
    if isinstance(node, SetNode):
        return SetNode(node.value.xreplace(mapping))
    if isinstance(node, Equation):
        lhs_node = rename(node.lhs_node, mapping) if node.lhs_node else None
        return Equation(node.lhs, rename(node.rhs, mapping), node.assignment, node.params, lhs_node)
    if isinstance(node, Relation):
        return Relation(node.ops, tuple(rename(o, mapping) for o in node.operands))
    if isinstance(node, MatrixNode):
        return MatrixNode(tuple(tuple(rename(x, mapping) for x in r) for r in node.rows))
    return node
