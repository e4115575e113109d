"""Numbers as written: their exact values, and the exact reading of latex2sympy's output.

:func:`exact_number` reads plain numbers (``12``, ``-0.5``, ``1e20``), scientific notation
(``6.02 \\times 10^{23}``), fractions, mixed numbers and repeating decimals without sympy's
parser, exactly: a decimal is the rational it denotes, never a binary float, and integers of
any size stay integers. A number written with a decimal point also reports its *places*, the
position of its last written digit, which makes a decimal reference a value known to that digit
(see :mod:`.numeric`).

:func:`base_numeral` reads a numeral with a base subscript (``1101_2``, ``21_{3}``, ``1F_{16}``,
``(777)_8``, ``101_{\\text{two}}``) as its value; :func:`replace_base_numerals` does the same inside a
longer expression (``21_3 + 1``).

:func:`exact_conventions` applies the same exactness to what latex2sympy returns for other
values, plus two reading conventions: ``i`` is the imaginary unit and odd roots of negative
numbers are real.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import sympy

from verifiers.math import guard

_NUMBER_RE = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
# 0.1\overline{6}, 0.\dot{3}, and 0.1666... (normalized to "0.1666\cdots"). Not "0.1(6)": that may be a product.
_REPEATING_RE = re.compile(r"^([-+]?)(\d*)\.(\d*)(?:\\overline\{(\d+)\}|\\dot\{?(\d)\}?)$")
_ELLIPSIS_RE = re.compile(r"^([-+]?)(\d*)\.(\d+)\s*\\cdots$")
_SCIENTIFIC_RE = re.compile(
    r"^([-+]?(?:\d+\.?\d*|\.\d+))\s*(?:\\times|\\cdot|\*)\s*10\s*\^\s*(?:\{\s*([-+]?\d+)\s*\}|(\d))$")
_FRACTION_RE = re.compile(r"^([-+]?)\s*(?:\\frac\{\s*(\d+)\s*\}\{\s*(\d+)\s*\}|(\d+)\s*/\s*(\d+))$")
# A numeral starts with a digit (``1F_{16}``), or is two or more capital letters in a base above
# ten (``FF_{16}``): ``a_{16}`` or ``x_2`` is a subscripted name, not a numeral.
_NUMERAL = r"(?:\d[0-9A-Za-z]*|[A-Z]{2,})"
_BASE = r"_\s*(?:\{\s*(?:\(\s*)?(?:\\text\{\s*)?([0-9]+|[a-z]+)(?:\s*\})?(?:\s*\))?\s*\}|([0-9]))"
_BASE_NUMERAL_RE = re.compile(rf"^\(?({_NUMERAL})\)?\s*{_BASE}$")
_INLINE_BASE_RE = re.compile(rf"(?<![\w\\.}}^])({_NUMERAL}){_BASE}")
_BASE_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "twelve": 12, "sixteen": 16}
_MIXED_RE = re.compile(r"^([-+]?)(\d+)\s*(?:\\frac\{\s*(\d+)\s*\}\{\s*(\d+)\s*\}|\s(\d+)\s*/\s*(\d+))$")


def exact_number(s: str) -> tuple[sympy.Rational, int | None] | None:
    """``(value, places)`` for a number this module reads (see the module docstring), else ``None``.

    ``places`` is set only for a number written with a decimal point (:func:`_decimal_places`).

    Raises:
        ZeroDivisionError: a fraction with denominator 0.
        guard.TooComplex: a literal with more than ``guard.MAX_DIGITS`` digits.
    """
    repeating = _repeating_decimal(s)
    if repeating is not None:
        return repeating, None
    sci = _SCIENTIFIC_RE.match(s)
    if sci:
        s = f"{sci.group(1)}e{sci.group(2) or sci.group(3)}"
    ellipsis = _ELLIPSIS_RE.match(s)
    if ellipsis:  # digits that do not repeat: the decimal as far as written (an approximation)
        s = f"{ellipsis.group(1)}{ellipsis.group(2) or 0}.{ellipsis.group(3)}"
    if _NUMBER_RE.match(s):
        try:
            d = Decimal(s)
        except InvalidOperation:
            return None
        if abs(d.adjusted()) > guard.MAX_DIGITS:
            raise guard.TooComplex("number has too many digits")
        frac = Fraction(d)
        return sympy.Rational(frac.numerator, frac.denominator), _decimal_places(s)
    m = _FRACTION_RE.match(s)
    if m:
        num, den = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
        if int(den) == 0:
            raise ZeroDivisionError(s)
        value = sympy.Rational(int(num), int(den))
        return (-value if m.group(1) == "-" else value), None
    m = _MIXED_RE.match(s)
    if m:
        num, den = (m.group(3), m.group(4)) if m.group(3) else (m.group(5), m.group(6))
        if int(den) == 0:
            raise ZeroDivisionError(s)
        value = int(m.group(2)) + sympy.Rational(int(num), int(den))
        return (-value if m.group(1) == "-" else value), None
    return None


def base_numeral(s: str) -> tuple[sympy.Integer, int] | None:
    """``(value, base)`` when ``s`` is one numeral with a base subscript, else ``None``.

    Raises:
        ValueError: a digit that is not valid in the base (``29_8``), or a base outside 2-36.
    """
    m = _BASE_NUMERAL_RE.match(s.strip())
    if not m:
        return None
    base = _base(m.group(2) or m.group(3))
    if base is None:
        return None
    return sympy.Integer(_digits_value(m.group(1), base)), base


def replace_base_numerals(s: str) -> str:
    """Every base-subscript numeral in ``s`` replaced by its decimal value (raises ``ValueError`` as above)."""
    def repl(m: re.Match[str]) -> str:
        base = _base(m.group(2) or m.group(3))
        return m.group(0) if base is None else str(_digits_value(m.group(1), base))

    return _INLINE_BASE_RE.sub(repl, s) if "_" in s else s


def reread_in_base(text: str, base: int) -> sympy.Integer | None:
    """A bare numeral (``1101``) read in ``base``; ``None`` unless it is all digits valid in that base."""
    digits = text.strip()
    if not re.fullmatch(r"[0-9A-Za-z]+", digits) or not digits[0].isdigit():
        return None
    try:
        return sympy.Integer(_digits_value(digits, base))
    except ValueError:
        return None


def _base(written: str) -> int | None:
    base = _BASE_WORDS.get(written) if written.isalpha() else int(written)
    if base is None:
        return None
    if not 2 <= base <= 36:
        raise ValueError(f"base {base} is not between 2 and 36")
    return base


def _digits_value(digits: str, base: int) -> int:
    if len(digits) > guard.MAX_DIGITS:
        raise guard.TooComplex("numeral has too many digits")
    try:
        return int(digits, base)
    except ValueError:
        raise ValueError(f"{digits!r} has a digit that is not valid in base {base}") from None


def _repeating_decimal(s: str) -> sympy.Rational | None:
    """The exact value of a repeating decimal, or ``None`` if ``s`` is not one.

    ``0.1\\overline{6}`` and ``0.\\dot{3}`` mark the period. With an ellipsis
    (``0.1666...``) the period is the shortest block of up to 6 digits that the written digits
    end with twice (``6`` in ``0.1666...``, ``142857`` in ``0.142857142857...``); digits that
    do not end that way (``3.14159...``) are not a repeating decimal.
    """
    m = _REPEATING_RE.match(s)
    if m:
        sign, whole, fixed = m.group(1), m.group(2), m.group(3)
        period = m.group(4) or m.group(5)
    else:
        m = _ELLIPSIS_RE.match(s)
        if not m:
            return None
        sign, whole, digits = m.groups()
        period = next((digits[-p:] for p in range(1, 7)
                       if len(digits) >= 2 * p and digits[-2 * p : -p] == digits[-p:]), None)
        if period is None:
            return None
        fixed = digits
        while fixed.endswith(period):
            fixed = fixed[: -len(period)]
    # 0.A(R) = (AR - A) / (10^|A| (10^|R| - 1))
    fraction = Fraction(int(fixed + period) - int(fixed or 0), 10 ** len(fixed) * (10 ** len(period) - 1))
    value = int(whole or 0) + fraction
    return sympy.Rational(-value if sign == "-" else value)


def _decimal_places(number: str) -> int | None:
    """The place of the last written digit of a decimal with a point: ``0.33`` -> 2, ``5.0`` -> 1,
    ``1.5e3`` -> -2 (known to the hundreds); ``None`` without a point or digits after it (``12``, ``1e6``)."""
    mantissa, _, exponent = number.lower().partition("e")
    _, point, decimals = mantissa.partition(".")
    if not point or not decimals:
        return None
    return len(decimals) - int(exponent or 0)


def _exact_atoms(value: sympy.Expr) -> sympy.Expr:
    """Decimal literals as the rationals they denote, and ``i`` as the imaginary unit.

    latex2sympy reads ``1.5`` as a binary Float; its ``str`` holds the digits as written
    (sympy keeps at least as many digits as the literal had), so the rational is exact.
    """
    mapping: dict[sympy.Basic, sympy.Basic] = {f: sympy.Rational(str(f)) for f in value.atoms(sympy.Float)}
    mapping.update({sym: sympy.I for sym in value.free_symbols if sym.name == "i"})
    return value.xreplace(mapping) if mapping else value


def _real_odd_roots(value: sympy.Expr) -> sympy.Expr:
    """Odd roots of negative numbers are real, as in school algebra: ``\\sqrt[3]{-8} = -2``.

    sympy's principal root would make ``(-8)^{1/3}`` the complex ``1 + \\sqrt{3} i``; answers
    that mean the principal complex root this way are misread (a documented limit).
    """
    def is_odd_root(e: sympy.Basic) -> bool:
        if not isinstance(e, sympy.Pow) or not e.base.is_number or e.base.is_extended_negative is not True:
            return False
        exponent = e.exp.doit()
        return exponent.is_Rational and exponent.q % 2 == 1 and exponent.q > 1

    def real_root(e: sympy.Pow) -> sympy.Expr:
        exponent = e.exp.doit()
        root = sympy.Pow(-e.base, exponent)
        return -root if exponent.p % 2 else root

    return value.replace(is_odd_root, real_root)


def exact_conventions(value: sympy.Expr) -> sympy.Expr:
    """An unevaluated latex2sympy value with exact decimals, ``i`` = the imaginary unit, real odd roots."""
    return _real_odd_roots(_exact_atoms(value))
