"""Whether two values are equal: the numeric half of the equivalence policy in :mod:`.compare`.

By default nothing is "close enough":

- *exact* values (integers, fractions, radicals, pi, e, complex numbers, closed forms) are equal
  only when they are the same number. Rationals, however large, compare with exact integer
  arithmetic. Other closed forms are decided by sympy: their difference either simplifies to 0
  on construction, or is evaluated with sympy's adaptive arithmetic to 50 significant digits; a
  difference that sympy can tell from zero is a difference (``3.14`` is not ``\\pi``,
  ``1.4142`` is not ``\\sqrt{2}``, ``e^{-100}`` is not ``0``), and one it cannot tell from zero
  at up to ``_MAX_DIGITS`` digits is equal (``\\sqrt{3 + 2\\sqrt{2}}`` is ``1 + \\sqrt{2}``).
- a *decimal reference* (a decimal written with a point: ``0.33``, ``2.50``, ``6.02 \\times
  10^{23}``) is a value known to its last written digit. An answer is equal to it when the
  answer, rounded half away from zero at that digit, gives the reference: ``\\frac{1}{3}`` and
  ``0.333`` match ``0.33``; ``0.3`` and ``0.34`` do not; ``0.33`` does not match ``\\frac13``
  (that reference is exact).
- expressions with free symbols are compared at random rational points, evaluated to 50 digits;
  the difference must be below ``1e-30`` of their size, which absorbs only round-off.

Opt-in tolerance (:class:`Tolerance`, the verifier's ``rel_tol`` / ``rounding`` options) adds
relative tolerance and "a decimal answer that rounds the exact reference", for users who grade
approximate work. Integer references stay exact unless ``integer_tol`` is also set.

Limits: zero-testing by evaluation is a decision at 50+ digits, not a proof: two different
closed forms that agree to more than ``_MAX_DIGITS`` digits would be called equal (no answer a
model writes by accident does). Random-point equality of expressions with symbols is
probabilistic (both sides must agree to 30 digits at 4 points). Sample points are positive, so
``\\sqrt{x}\\sqrt{y}`` equals ``\\sqrt{xy}``, except where a side can tell signs apart (``|x|``, floor,
min/max, an even root of an even power such as ``\\sqrt[6]{t^6}``): there half are negative.
Values sympy cannot evaluate (undefined functions) fall back to ``sympy.simplify``, bounded only
by the runtime's deadline.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable

import sympy
from mpmath.libmp.libhyper import NoConvergence

_DIGITS = 50  # working precision of every numeric evaluation
_MAX_DIGITS = 200  # sympy may raise its precision this far to tell a difference from zero
_ROUNDOFF = 1e-30  # relative; 20 digits of margin below _DIGITS
_POINTS = 4
_SIGN_SENSITIVE = (sympy.Abs, sympy.sign, sympy.floor, sympy.ceiling, sympy.Min, sympy.Max,
                   sympy.Piecewise, sympy.Heaviside)
_EVAL_ERRORS = (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError, NoConvergence)


@dataclass(frozen=True)
class Tolerance:
    """Opt-in approximate comparison; the default is exact (see the module docstring).

    Attributes:
        rel_tol: accept ``|a - b| <= rel_tol * max(|a|, |b|)`` (0 = off).
        integer_tol: apply ``rel_tol`` and ``rounding`` to integer references too.
        rounding: accept a decimal answer (>= 3 significant digits) equal to the exact
            reference rounded at the answer's last digit (``85.71`` for ``600/7``).
        text_containment: a short text answer stated in a reference sentence is correct.
    """

    rel_tol: float = 0.0
    integer_tol: bool = False
    rounding: bool = False
    text_containment: bool = True

    @property
    def exact(self) -> bool:
        return not self.rel_tol and not self.rounding


@dataclass(frozen=True)
class Reading:
    """One way to read a scalar: its value, and ``places`` when written as a decimal (known to 10^-places)."""

    value: sympy.Expr
    places: int | None = None


def values_equal(ref: Reading, cand: Reading, tol: Tolerance) -> bool:
    """True when ``cand`` is equal to the reference ``ref`` under the policy and ``tol``."""
    x, y = ref.value, cand.value
    if x == y:
        return True
    if x.free_symbols or y.free_symbols:
        return symbolic_equal(x, y)
    if exactly_equal(x, y):
        return True
    if ref.places is not None and rounds_to(y, x, ref.places):
        return True
    if tol.exact or (x.is_integer and not tol.integer_tol):
        return False
    if tol.rel_tol and _within_rel_tol(x, y, tol.rel_tol):
        return True
    return tol.rounding and cand.places is not None and _significant_digits(y, cand.places) >= 3 \
        and rounds_to(x, y, cand.places)


def exactly_equal(x: sympy.Expr, y: sympy.Expr) -> bool:
    """``x`` and ``y`` (no free symbols) are the same number; see the module docstring."""
    if x.is_Rational and y.is_Rational:
        return x == y  # exact integer arithmetic, any size
    diff = x - y
    if diff == 0:
        return True
    try:
        # Adaptive: sympy raises its working precision (up to maxn digits) to resolve each part.
        value = diff.evalf(_DIGITS, maxn=_MAX_DIGITS)
    except _EVAL_ERRORS:
        return False
    parts = value.as_real_imag()
    if not all(p.is_Number and p.is_finite for p in parts):
        return _simplifies_to_zero(diff)  # not numerically evaluable (e.g. an undefined function)
    return all(_unresolved_zero(p) for p in parts)


def _unresolved_zero(part: sympy.Expr) -> bool:
    """0, or a part sympy could not tell from 0: a Float without one significant bit ("0.e-160").

    A part sympy resolved carries the full working precision, however small it is
    (``e^{-1000}`` evaluates to 5.08e-435 with 50 digits).
    """
    return part == 0 or (part.is_Float and part._prec <= 1)


def rounds_to(value: sympy.Expr, shown: sympy.Expr, places: int) -> bool:
    """``value`` rounded half away from zero at 10^-places is exactly ``shown`` (a rational).

    Decided on ``t = (value - shown) * 10^places``, the distance in units of the last place:
    exact for rationals; for other values sympy evaluates ``t`` with its adaptive arithmetic, so
    a huge or tiny ``value`` costs no more than a moderate one.
    """
    scale = sympy.Integer(10) ** places
    if not shown.is_Rational or not (shown * scale).is_Integer:
        return False
    t = (value - shown) * scale
    if not t.is_Rational:
        try:
            re_part, im_part = t.evalf(_DIGITS, maxn=_MAX_DIGITS).as_real_imag()
        except _EVAL_ERRORS:
            return False
        if not (re_part.is_Number and re_part.is_finite) or not _unresolved_zero(im_part):
            return False
        t = re_part
    half = sympy.Rational(1, 2)
    # [shown - 1/2, shown + 1/2) for positive values, mirrored for negative ones.
    above = t >= -half if shown > 0 else t > -half
    below = t <= half if shown < 0 else t < half
    return bool(above and below)


def _significant_digits(value: sympy.Expr, places: int) -> int:
    scaled = abs(value * sympy.Integer(10) ** places)
    return len(str(int(scaled))) if scaled.is_Integer and scaled else 0


def _within_rel_tol(x: sympy.Expr, y: sympy.Expr, rel_tol: float) -> bool:
    try:
        xv, yv = complex(x.evalf(30)), complex(y.evalf(30))
    except _EVAL_ERRORS:
        return False
    if not all(math.isfinite(abs(v)) for v in (xv, yv)):
        return False
    return abs(xv - yv) <= rel_tol * max(abs(xv), abs(yv))


def sample(fn: Callable[[dict], tuple[complex, ...]], exprs: list[sympy.Expr]) -> list[tuple[complex, ...]]:
    """``fn`` at a few reproducible random points of the free symbols (points with non-finite values skipped).

    Points are rationals, so an evaluation is exact up to the working precision.
    """
    symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=str)
    # Points are positive (so x^{1/2} and \\ln x stay real and the usual identities hold), but
    # where a side could tell signs apart (|x|, floor, min, ..., or an even root of an even power,
    # \\sqrt[6]{t^6}) every other point is negated: otherwise x would equal |x|.
    signed = any(e.has(*_SIGN_SENSITIVE) or _even_root_of_even_power(e) for e in exprs)
    rng = random.Random(1234)
    found = []
    for k in range(_POINTS * 3):
        # negative points reach further out (-10.7 to -1.2), so that a shifted sign change is seen
        # too: |x + 1| is not x + 1
        scale = -4 if signed and k % 2 else 1
        point = {s: scale * sympy.Rational(rng.randint(300, 2700), 1009) for s in symbols}
        try:
            values = fn(point)
        except _EVAL_ERRORS:
            continue
        if all(math.isfinite(v.real) and math.isfinite(v.imag) for v in values):
            found.append(values)
        if len(found) == _POINTS:
            break
    return found


def _even_root_of_even_power(e: sympy.Expr) -> bool:
    """``e`` holds ``(...)^{p/q}`` with ``q`` even over a base holding a variable to an even power."""
    for root in e.find(sympy.Pow):
        exponent = root.exp
        if not (exponent.is_Rational and not exponent.is_Integer and exponent.q % 2 == 0):
            continue
        for power in root.base.find(sympy.Pow) | {root.base}:
            if isinstance(power, sympy.Pow) and power.exp.is_Integer and power.exp % 2 == 0 \
                    and power.base.free_symbols:
                return True
    return False


def evaluate(e: sympy.Expr, point: dict) -> complex:
    """``e`` at ``point`` (rationals), evaluated to the working precision, as a Python complex.

    Python floats keep only 16 digits but any magnitude down to 1e-308, which is all the
    comparisons below need: differences are formed in sympy before the conversion.
    """
    return complex(e.evalf(_DIGITS, subs=point))


def symbolic_equal(x: sympy.Expr, y: sympy.Expr) -> bool:
    """Equal at ``_POINTS`` random points to round-off: ``|x - y| <= 1e-30 * max(1, |x| + |y|)``."""
    diff = x - y
    if diff == 0:
        return True
    found = sample(lambda p: (evaluate(diff, p), evaluate(x, p), evaluate(y, p)), [x, y])
    if len(found) < _POINTS:
        return _simplifies_to_zero(diff)
    return all(abs(d) <= _ROUNDOFF * max(1.0, abs(a) + abs(b)) for d, a, b in found)


def _simplifies_to_zero(e: sympy.Expr) -> bool:
    try:
        return sympy.simplify(e) == 0
    except (TypeError, ValueError, NotImplementedError, AttributeError):
        return False
