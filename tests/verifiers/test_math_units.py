"""Answers with units or words: the number counts, unless the words change it (verifiers/math/units.py);
units on both sides are compared (verifiers/math/dimensions.py)."""

from __future__ import annotations

import pytest
import sympy

from verifiers.base import Status
from verifiers.math import MathVerifier
from verifiers.math.dimensions import conversion
from verifiers.math.units import drop_plain_unit, take_unit, unwrap_text_numbers

V = MathVerifier()


@pytest.mark.parametrize(("completion", "reference"), [
    ("\\boxed{\\text{12 cm}}", "12"),
    ("\\boxed{12\\text{ cm}}", "12"),
    ("\\boxed{12\\,\\mathrm{cm}}", "12"),
    ("\\boxed{\\mathrm{12\\ cm}}", "12"),
    ("\\boxed{\\text{12 cm}^2}", "12"),
    ("\\boxed{\\text{12.5 m/s}}", "12.5"),
    ("\\boxed{\\mbox{5 apples}}", "5"),
    ("\\boxed{\\textbf{5 apples}}", "5"),
    ("\\boxed{5 \\text{ dollars}}", "5"),
    ("\\boxed{\\text{7 dollars}}", "7"),
    ("\\boxed{\\$5}", "5"),
    ("\\boxed{\\text{\\$5}}", "5"),
    ("\\boxed{\\text{1,000 people}}", "1000"),
    ("\\boxed{\\text{1/2 cup}}", "\\frac{1}{2}"),
    ("\\boxed{\\text{12}}", "12"),
    ("\\boxed{\\text{0 solutions}}", "0"),
    ("\\boxed{\\text{3 times}}", "3"),
    ("\\boxed{\\text{5 percent}}", "0.05"),
    ("\\boxed{\\text{30 degrees}}", "\\frac{\\pi}{6}"),
    ("7 dollars", "7"),
    ("The answer is 7 dollars.", "7"),
    ("\\boxed{165.5 grams}", "165.5"),
    ("\\boxed{\\text{12 cm}}", "12 \\text{ cm}"),
])
def test_a_number_with_a_unit_counts_as_the_number(completion: str, reference: str) -> None:
    result = V(completion, reference)
    assert result.correct, result


@pytest.mark.parametrize(("answer", "reference"), [
    ("\\text{12 cm}", "13"),
    ("\\text{5 million}", "5"),
    ("5 \\text{ million}", "5"),
    ("\\text{3 dozen}", "3"),
    ("\\text{3 halves}", "3"),
    ("\\text{2 thirds}", "2"),
    ("\\text{5 squared}", "5"),
    ("\\text{5 or more}", "5"),
    ("5 or more", "5"),
    ("\\text{at least } 5", "5"),
    ("\\text{about 3.14}", "\\pi"),
    ("\\text{3 times x}", "3"),
    ("\\text{7 dollars and 50 cents}", "7"),
    ("\\text{no solution}", "0"),
    ("\\text{none}", "0"),
    ("\\text{twelve}", "12"),
])
def test_words_that_change_the_value_are_not_dropped(answer: str, reference: str) -> None:
    assert not V(f"\\boxed{{{answer}}}", reference).correct


@pytest.mark.parametrize(("completion", "reference"), [
    ("\\boxed{\\text{5 million}}", "5000000"),
    ("\\boxed{5\\text{ million}}", "5000000"),
    ("The answer is 5 million.", "5000000"),
    ("\\boxed{\\text{1.5 million dollars}}", "1500000"),
    ("\\boxed{\\text{2.5 thousand km}}", "2500"),
    ("\\boxed{3 \\text{ hundred}}", "300"),
    ("\\boxed{\\text{2 billion}}", "2 \\times 10^{9}"),
    ("\\boxed{\\text{4 trillion}}", "4000000000000"),
])
def test_a_scale_word_multiplies(completion: str, reference: str) -> None:
    assert V(completion, reference).correct


@pytest.mark.parametrize(("answer", "reference"), [
    ("\\text{5 million}", "500000"),     # off by a power of ten
    ("\\text{5 million}", "50000000"),
    ("\\text{5 billion}", "5000000"),    # short scale: a billion is 10^9
    ("\\text{5 millions}", "5000000"),   # "millions of" is a count, not a value
    ("\\text{5 million or more}", "5000000"),
    ("\\text{3 dozen}", "36"),           # a count of dozens or of items: not read
])
def test_scale_words_are_not_farmable(answer: str, reference: str) -> None:
    assert not V(f"\\boxed{{{answer}}}", reference).correct


def test_text_answers_stay_text() -> None:
    assert V("\\boxed{\\text{no solution}}", "\\text{no solution}").correct
    assert V("\\boxed{\\text{No solution}}", "\\text{no solution}").correct
    assert V("\\boxed{\\text{none}}", "\\text{none}").correct
    assert V("\\boxed{\\text{infinitely many}}", "\\infty").correct
    # "none" and "no solution" are one meaning (#30; test_math_words.py), "odd" is another word
    assert V("\\boxed{\\text{no solution}}", "\\text{none}").correct
    assert V("\\boxed{\\text{no solution}}", "\\text{odd}").status is Status.WRONG


def test_percent_keeps_its_two_readings() -> None:
    # Unchanged behaviour: "5%" matches 5 (a "what percent" reference) and 0.05.
    for reference in ("5", "0.05", "5\\%", "\\frac{1}{20}"):
        assert V("\\boxed{5\\%}", reference).correct, reference
    assert V("\\boxed{5\\%}", "0.5").status is Status.WRONG
    assert V("\\boxed{5}", "0.05").status is Status.WRONG


def test_helpers() -> None:
    assert unwrap_text_numbers("\\text{12 cm}") == "12 \\unit{cm}"  # the unit travels as a marker
    assert unwrap_text_numbers("\\text{12 cm}^2") == "12 \\unit{cm^2}"
    assert unwrap_text_numbers("x = \\text{-3 degrees}") == "x =  -3^\\circ"
    assert unwrap_text_numbers("\\text{no solution}") == "\\text{no solution}"
    assert unwrap_text_numbers("\\text{5 million}") == "5 \\times 10^{6}"
    assert unwrap_text_numbers("\\text{5 million dollars}") == "5 \\times 10^{6} \\unit{dollars}"
    assert unwrap_text_numbers("\\text{5 million or more}") == "\\text{5 million or more}"
    assert drop_plain_unit("7 dollars") == "7 \\unit{dollars}"
    assert take_unit("7 \\unit{dollars}") == ("7", "dollars")
    assert take_unit("7 \\unit{cm} \\times 3") == ("7 \\times 3", None)
    assert drop_plain_unit("5 m") == "5 m"  # a product outside \text{}
    assert drop_plain_unit("5 more than x") == "5 more than x"


# Both sides with units (#30): known units convert within their dimension, other units must match.
@pytest.mark.parametrize(("answer", "reference"), [
    ("5000 \\text{ m}", "5 \\text{ km}"), ("5 \\text{ km}", "5000 \\text{ m}"), ("500 \\text{ cm}", "5 \\text{ m}"),
    ("3 \\text{ hours}", "180 \\text{ minutes}"), ("2 \\text{ h}", "120 \\text{ min}"), ("90 \\text{ s}", "1.5 \\text{ min}"),
    ("2 \\text{ kg}", "2000 \\text{ g}"), ("1 \\text{ L}", "1000 \\text{ mL}"), ("1 \\text{ L}", "1000 \\text{ cm}^3"),
    ("72 \\text{ km/h}", "20 \\text{ m/s}"), ("20 \\text{ meters per second}", "72 \\text{ km/h}"),
    ("5 \\text{ apples}", "5 \\text{ apple}"), ("5 \\text{ seconds}", "5 \\text{ s}"), ("\\text{12 cm}", "0.12 \\text{ m}"),
    ("40 \\text{ hard candies}", "40 \\text{ lollipop candies}"),  # a description before the noun: same unit
    ("5 \\text{ km}", "5"), ("5", "5 \\text{ km}"),  # one side bare: the number counts, as before
    ("\\text{5 dollars}", "500 \\text{ cents}"), ("60 \\text{ mph}", "60 \\text{ miles per hour}"),
    ("\\$5", "500 \\text{ cents}"), ("\\$1,000", "1000 \\text{ dollars}"),
    ("5 kilometers", "5000 \\text{ meters}"), ("3 \\text{ ft}", "36 \\text{ in}"), ("5 \\text{ m}^2", "50000 \\text{ cm}^2"),
])
def test_units_on_both_sides_convert_within_a_dimension(answer: str, reference: str) -> None:
    result = V(f"\\boxed{{{answer}}}", reference)
    assert result.correct, result


@pytest.mark.parametrize(("answer", "reference"), [
    ("5 \\text{ km}", "5 \\text{ m}"), ("\\text{5 km}", "\\text{5 m}"), ("5\\,\\mathrm{km}", "5\\,\\mathrm{m}"),
    ("5 \\text{ cm}", "5 \\text{ m}"), ("2 \\text{ min}", "2 \\text{ h}"), ("2 \\text{ g}", "2 \\text{ kg}"),
    ("5 \\text{ kg}", "5 \\text{ km}"), ("12 \\text{ cm}^2", "12 \\text{ cm}"), ("5 \\text{ apples}", "5 \\text{ oranges}"),
    ("5 \\text{ dollars}", "5 \\text{ cents}"), ("x = 5 \\text{ km}", "5 \\text{ m}"), ("7 \\text{ days}", "7 \\text{ weeks}"),
    ("10 \\text{ km}", "10 \\text{ miles}"), ("60 \\text{ mph}", "60 \\text{ km/h}"),
    ("\\$5", "5 \\text{ cents}"),  # the dollar sign is a unit
])
def test_units_that_differ_are_wrong(answer: str, reference: str) -> None:
    assert V(f"\\boxed{{{answer}}}", reference).status is Status.WRONG


def test_conversions() -> None:
    assert conversion("km", "m") == 1000
    assert conversion("km/h", "m/s") == sympy.Rational(5, 18)
    assert conversion("square feet", "ft^2") == 1
    assert conversion("m", "s") is None
    assert conversion("apples", "apple") == 1 and conversion("apples", "pears") is None
