"""Units written after a number: when two answers with units are the same quantity.

A unit is read as an exact factor times a product of base units: ``km`` is 1000 metre, ``km/h``
is 1000/3600 metre per second, ``cm^2`` and ``square centimeters`` are 1/10000 metre squared.
Known units convert within their dimension:

- length (metre): ``mm``, ``cm``, ``m``, ``km``, ``in``, ``ft``, ``yd``, ``mi``;
- time (second): ``ms``, ``s``, ``min``, ``h``, ``day``, ``week``;
- mass (gram): ``mg``, ``g``, ``kg``, ``t`` (tonne);
- volume: ``mL``, ``L``, ``cc``, and cubes of lengths (``1 L`` is ``1000 cm^3``);
- money: ``dollars`` / ``USD`` / ``$`` and ``cents``;
- speeds written as one word: ``mph``, ``kph``, ``fps``.

Any other word is a unit of its own, compared by its singular (``apples`` is ``apple``); of a
phrase (``chocolate candies``) only the last word counts (``candy``), so a description before the
noun does not make two answers differ. ``5 km`` therefore equals ``5000 m`` and not ``5 m``;
``5 apples`` is not ``5 oranges``; ``12 cm^2`` is not ``12 cm``.

Limits: units are case-insensitive (``Mm`` is read as ``mm``); no temperatures (they are not
factors), no imperial mass or volume, no prefixes beyond those listed.
"""

from __future__ import annotations

import functools
import re

import sympy

R = sympy.Rational
_KNOWN: dict[str, tuple[sympy.Rational, str, int]] = {}  # name -> factor, base unit, power
for _names, _factor, _dim in [
    ("m meter metre", R(1), "m"), ("km kilometer kilometre", R(1000), "m"),
    ("cm centimeter centimetre", R(1, 100), "m"), ("mm millimeter millimetre", R(1, 1000), "m"),
    ("in inch", R(254, 10000), "m"), ("ft foot feet", R(3048, 10000), "m"),
    ("yd yard", R(9144, 10000), "m"), ("mi mile", R(1609344, 1000), "m"),
    ("s sec second", R(1), "s"), ("ms millisecond", R(1, 1000), "s"), ("min minute", R(60), "s"),
    ("h hr hour", R(3600), "s"), ("day", R(86400), "s"), ("week wk", R(604800), "s"),
    ("g gram gramme", R(1), "g"), ("kg kilogram kilo", R(1000), "g"), ("mg milligram", R(1, 1000), "g"),
    ("t tonne ton", R(1000000), "g"),
    ("l liter litre", R(1, 1000), "m3"), ("ml milliliter millilitre cc", R(1, 1000000), "m3"),
    ("dollar usd $ buck", R(1), "$"), ("cent", R(1, 100), "$"),
]:
    for _name in _names.split():
        _KNOWN[_name] = (_factor, _dim[0], 3) if _dim == "m3" else (_factor, _dim, 1)
_SPEEDS = {"mph": "mi/h", "kph": "km/h", "kmh": "km/h", "kmph": "km/h", "fps": "ft/s", "mps": "m/s"}
_PLURAL_ABBREVIATIONS = {"hrs": "hr", "mins": "min", "secs": "sec", "kms": "km", "cms": "cm", "kgs": "kg",
                         "lbs": "lb", "yds": "yd", "wks": "wk", "feet": "feet"}
_POWER_WORDS = {"square": 2, "sq": 2, "squared": 2, "cubic": 3, "cu": 3, "cubed": 3}
_TOKEN_RE = re.compile(r"([A-Za-z$]+)\.?(?:\s*\^\s*\{?(-?\d)\}?)?")

Unit = tuple[sympy.Rational, frozenset]  # factor, {(base unit, power)}


def conversion(unit: str, to: str) -> sympy.Rational | None:
    """How many ``to`` one ``unit`` is (``conversion("km", "m") == 1000``); ``None`` for another dimension."""
    a, b = read(unit), read(to)
    if a is None or b is None or a[1] != b[1]:
        return None
    return a[0] / b[0]


@functools.lru_cache(maxsize=1024)
def read(unit: str) -> Unit | None:
    """``unit`` as a factor and base units (see the module docstring); ``None`` if nothing is readable."""
    text = unit.replace("\\", " ").replace("{", " ").replace("}", " ").lower()
    text = _SPEEDS.get(text.strip(), text)
    numerator, _, denominator = re.sub(r"\s+per\s+", "/", text).partition("/")
    powers: dict[str, int] = {}
    factor = R(1)
    for side, sign in ((numerator, 1), (denominator, -1)):
        side_factor = _read_side(side, sign, powers)
        if side_factor is None:
            return None
        factor *= side_factor
    return factor, frozenset((d, p) for d, p in powers.items() if p)


def _read_side(side: str, sign: int, powers: dict[str, int]) -> sympy.Rational | None:
    tokens = [(m.group(1), int(m.group(2) or 1)) for m in _TOKEN_RE.finditer(side.replace("/", " "))]
    if not tokens:
        return R(1) if sign < 0 and not side.strip() else None
    if any(_singular(w) not in _KNOWN and w not in _POWER_WORDS for w, _ in tokens):
        # a phrase with other words ("chocolate candies", "square units"): its last word names the unit
        tokens = tokens[-2:] if len(tokens) > 1 and tokens[-2][0] in _POWER_WORDS else tokens[-1:]
    factor = R(1)
    pending = 1
    for word, power in tokens:
        if word in _POWER_WORDS and len(tokens) > 1:
            pending = _POWER_WORDS[word]
            continue
        name = _singular(word)
        unit_factor, dim, dim_power = _KNOWN.get(name, (R(1), name, 1))
        exponent = sign * power * pending
        factor *= unit_factor ** exponent
        powers[dim] = powers.get(dim, 0) + exponent * dim_power
        pending = 1
    return factor


def _singular(word: str) -> str:
    if word in _PLURAL_ABBREVIATIONS:
        return _PLURAL_ABBREVIATIONS[word]
    if len(word) <= 3 or word in _KNOWN:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
