"""The parsed shapes of a math answer: scalars, sequences, sets, equations, relations, text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import sympy


@dataclass(frozen=True)
class Scalar:
    """One value, exact. ``places`` is set when it was written as a decimal with a point: the last
    written digit is at 10^-places (``0.33`` -> 2, ``5.0`` -> 1, ``6.02 \\times 10^{23}`` -> -21).
    As a reference such a value is known only to that digit (see :mod:`.numeric`)."""

    expr: sympy.Expr
    text: str
    places: int | None = None
    percent: bool = False
    degrees: bool = False


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
    """``lhs = rhs``. ``params`` are the argument names of a definition such as ``f(x) = ...``."""

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


Node = Union[Scalar, Seq, SetNode, Equation, Relation, MatrixNode, Text]
