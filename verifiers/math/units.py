"""A number followed by a unit or a word counts as that number: ``12 cm``, ``\\text{12 cm}``.

Answers come as ``\\text{12 cm}``, ``\\mbox{5 apples}``, ``\\mathrm{12\\ cm}`` (all renamed to
``\\text{}`` by :mod:`.normalize`), ``12\\text{ cm}``, or plain ``7 dollars``. The number is kept
and the unit travels beside it as a marker, ``12 \\unit{cm}``, which :func:`take_unit` removes
when the value is built: :mod:`.compare` compares units only when both answers carry one (see
:mod:`.dimensions`); against a bare number the number counts. ``percent`` becomes ``\\%`` and
``degrees`` becomes ``^\\circ``, so that :mod:`.compare` reads them the way it reads the symbols.

Scale words multiply: ``5 million`` (and ``\\text{5 million dollars}``) reads as ``5 \\times 10^{6}``,
likewise ``hundred``, ``thousand``, ``billion`` and ``trillion`` (short scale), so it equals
``5000000`` and never the bare ``5``.

What is *not* dropped, because dropping it would change the value or the claim (such text is
left in place and the answer then reads as prose or fails to parse, so it is never credited
as the bare number):

- other multipliers and fraction words: ``3 dozen`` (a count of dozens or of items?),
  ``5k``, ``3 halves``, ``2 thirds``;
- powers: ``5 squared``; comparisons and hedges: ``5 or more``, ``at least 5``, ``about 3.14``;
- anything after the words that holds a digit or math (``5 apples and 3 oranges``);
- words with no number in front (``\\text{no solution}``, ``\\text{none}``) stay text.

Limits: the unit must follow the number; a leading word (``USD 5``) is not read. A single
letter after a number outside ``\\text{}`` (``5 m``) is left to the math parser, where it is a
product (``5m``), because outside ``\\text{}`` it usually is one.
"""

from __future__ import annotations

import re

# Numbers as they appear inside prose: 12, -3, 1,000, 12.5, .5, 3/4 (thousands commas removed later).
_NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:\s*/\s*\d+)?|\.\d+)"
# Unit words: letters, optionally dotted ("sq. ft"), joined by "/" or "-" ("km/h", "light-years"),
# with an exponent ("cm^2", "cm^{3}").
_WORD = r"[A-Za-z]+\.?(?:[/-][A-Za-z]+\.?)*"
_WORDS = rf"{_WORD}(?:\s+{_WORD})*(?:\s*\^\s*\{{?\d\}}?)?"
_POWER = r"\s*\^\s*\{?\d\}?"
_TEXT_NUMBER_RE = re.compile(
    rf"\\text\s*\{{\s*({_NUMBER})\s*((?:{_WORDS})?)\s*\}}({_POWER})?")
_UNIT_MARK_RE = re.compile(r"\s*\\unit\{([^{}]*)\}")
_PLAIN_NUMBER_RE = re.compile(rf"^({_NUMBER})\s+({_WORDS})$")

# Words that change the value or the claim when dropped (matched case-insensitively, whole words).
_KEEP_WORDS = frozenset("""
    hundred hundreds thousand thousands million millions billion billions trillion trillions
    dozen dozens score k mn bn thou
    half halves third thirds quarter quarters
    squared cubed root roots factorial
    or and nor more less fewer than least most over under above below up to from between
    about approximately approx around roughly nearly almost circa ca some
    not no plus minus
    """.split())
_ORDINAL_RE = re.compile(r"(?:fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
                         r"|teenth|tieth|hundredth|thousandth|millionth)s?$", re.IGNORECASE)
#: Scale words read as powers of ten (short scale); plural forms ("millions") stay kept words.
_SCALES = {"hundred": 2, "thousand": 3, "million": 6, "billion": 9, "trillion": 12}
_PERCENT_WORDS = frozenset({"percent", "per cent", "pct"})
_DEGREE_WORDS = frozenset({"degree", "degrees", "deg"})


def unit_symbol(words: str) -> str | None:
    """What ``words`` after a number become: ``""`` (a unit, dropped), ``\\%``, ``^\\circ``, or ``None`` (kept).

    A one-letter word is a unit only when it stands alone (``12 m``): in ``3 times x`` it is math.
    """
    cleaned = re.sub(r"\s*\^\s*\{?\d\}?$", "", words).strip()
    lowered = " ".join(cleaned.lower().split())
    if not lowered:
        return ""
    if " " in lowered and any(len(w) == 1 for w in re.findall(r"[a-z]+", lowered)):
        return None
    if lowered in _PERCENT_WORDS:
        return r"\%"
    if lowered.split(" ")[0] in _DEGREE_WORDS:  # "degrees", "degrees Celsius"
        return r"^\circ"
    for word in re.split(r"[\s/-]+", lowered):
        word = word.strip(".")
        if word in _KEEP_WORDS or _ORDINAL_RE.search(word):
            return None
    return ""


def scaled_symbol(words: str) -> str | None:
    """:func:`unit_symbol`, with a leading scale word as a power of ten: ``"million dollars"`` ->
    ``" \\times 10^{6}"``, ``"thousand percent"`` -> ``" \\times 10^{3}\\%"``."""
    first, _, rest = words.strip().partition(" ")
    exponent = _SCALES.get(first.lower())
    symbol = unit_symbol(rest if exponent else words)
    if symbol is None or not exponent:
        return symbol
    return f" \\times 10^{{{exponent}}}{symbol}"


def unit_mark(words: str) -> str:
    """The marker that carries a unit beside its number (`` \\unit{km}``), or ``""`` for no words."""
    words = " ".join(words.split())
    return f" \\unit{{{words}}}" if words else ""


def take_unit(s: str) -> tuple[str, str | None]:
    """``"12 \\unit{cm}"`` -> ``("12", "cm")``. A marker not at the end (``12 \\unit{cm} \\times 3``) is dropped."""
    units = _UNIT_MARK_RE.findall(s)
    if not units:
        return s, None
    trailing = re.search(r"\\unit\{([^{}]*)\}\s*$", s)
    return " ".join(_UNIT_MARK_RE.sub(" ", s).split()), trailing.group(1) if trailing else None


def _as_number(number: str, words: str) -> str | None:
    symbol = scaled_symbol(words)
    if symbol is None:
        return None
    number = re.sub(r"\s+", "", number)
    if re.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", number):
        number = number.replace(",", "")
    return number + symbol + unit_mark(unit_words(words))


def unit_words(words: str) -> str:
    """The unit in ``words`` that :func:`unit_symbol` reads as one (a scale word before it removed):
    ``"million dollars"`` -> ``"dollars"``; ``""`` for percent, degrees or no unit."""
    first, _, rest = words.strip().partition(" ")
    if first.lower() in _SCALES:
        words = rest
    return words.strip() if unit_symbol(words) == "" else ""


def unwrap_text_numbers(s: str) -> str:
    """``\\text{12 cm}`` -> ``12 \\unit{cm}``, ``\\text{5 percent}`` -> ``5\\%``; other ``\\text{}`` untouched."""
    def repl(m: re.Match[str]) -> str:
        words = m.group(2) + (re.sub(r"\s+", "", m.group(3)) if m.group(3) and m.group(2) else "")
        number = _as_number(m.group(1), words)
        return m.group(0) if number is None else f" {number} "

    return _TEXT_NUMBER_RE.sub(repl, s).strip()


def drop_plain_unit(s: str) -> str:
    """``7 dollars`` -> ``7 \\unit{dollars}``; unchanged unless the whole string is that shape.

    Each word must have two or more letters (``5 m`` stays a product, see the module docstring).
    """
    m = _PLAIN_NUMBER_RE.match(s.strip())
    if not m or any(len(w) < 2 for w in re.findall(r"[A-Za-z]+", m.group(2).split("^")[0])):
        return s
    number = _as_number(m.group(1), m.group(2))
    return s if number is None else number
