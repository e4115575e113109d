"""Numerals with a base subscript are their value: ``21_3`` is 7 (verifiers/math/numbers.py)."""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier
from verifiers.math.numbers import base_numeral, replace_base_numerals

V = MathVerifier()


def _grade(answer: str, reference: str) -> Status:
    return V(f"\\boxed{{{answer}}}", reference).status


@pytest.mark.parametrize(("answer", "reference"), [
    ("21_3", "7"), ("21_{3}", "7"), ("1F_{16}", "31"), ("1f_{16}", "31"), ("FF_{16}", "255"), ("(777)_8", "511"),
    ("1101_2", "13"), ("1101_{2}", "13"), ("101_{\\text{two}}", "5"), ("10_{(2)}", "2"), ("2_{10}", "2"),
    ("1101_2", "1101_2"), ("1101_{2}", "1101_2"), ("13_{10}", "1101_2"),
    ("1101", "1101_2"),  # no subscript: read in the reference's base, as the question asked
    ("21_3 + 1", "8"),
])
def test_a_base_subscript_is_read_as_the_value(answer: str, reference: str) -> None:
    assert _grade(answer, reference) is Status.CORRECT


@pytest.mark.parametrize(("answer", "reference"), [
    ("21_3", "21_4"), ("21_3", "21"), ("1101_3", "1101_2"), ("777_8", "777"), ("10_2", "10"),
    ("1101", "13"),        # a bare numeral is decimal against a decimal reference
    ("13", "1101_2"),      # the decimal value is not the base-2 numeral asked for
    ("1102", "1101_2"),
])
def test_different_values_in_bases_are_wrong(answer: str, reference: str) -> None:
    assert _grade(answer, reference) is Status.WRONG


@pytest.mark.parametrize("answer", ["29_8", "12_2", "1G_{16}"])
def test_a_digit_invalid_in_its_base_is_invalid(answer: str) -> None:
    result = V(f"\\boxed{{{answer}}}", "25")
    assert result.status is Status.INVALID and "base" in result.feedback


def test_a_numeral_with_its_base_is_one_number_in_prose() -> None:
    assert V("So 13 in binary is 1101_2", "1101_2").correct
    assert V("So 13 in binary is 1101_2", "13").correct
    assert V("\\boxed{\\text{1101}_2}", "13").correct


def test_subscripted_names_are_not_numerals() -> None:
    assert base_numeral("x_2") is None and base_numeral("a_{16}") is None and base_numeral("A_1") is None
    assert replace_base_numerals("x_2 + a_{16} + \\log_2 8") == "x_2 + a_{16} + \\log_2 8"
    assert _grade("a_1 + a_2", "a_2 + a_1") is Status.CORRECT
