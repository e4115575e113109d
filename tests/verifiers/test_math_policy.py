"""The numeric equivalence policy: exact references take no approximation, decimal references are
known to their last digit, integers compare exactly at any size, tolerance is opt-in.

Each class of the issue (approximations graded as exact, big integers compared as floats, exact
forms sympy can decide) has several variants of its own here; units are in test_math_units.py,
choice letters in test_math_choice.py.
"""

from __future__ import annotations

import pytest
import sympy

from verifiers.base import Status
from verifiers.math import MathVerifier
from verifiers.math.numeric import exactly_equal, rounds_to

V = MathVerifier()


def _grade(answer: str, reference: str, verifier: MathVerifier = V) -> Status:
    return verifier(f"\\boxed{{{answer}}}", reference).status


# A decimal rounding of an exact value is a reward hack, not an answer: all of these are wrong.
APPROXIMATIONS = [
    ("\\frac{2}{3}", ["0.667", "0.6667", "0.67", "0.666666666666667", "0.6666666666666666666666666667",
                      "\\approx 0.667", "x \\approx 0.667", "≈ 0.667", "66.7\\%", "0.667..."]),
    ("\\sqrt{2}", ["1.41", "1.414", "1.4142", "1.4142135623730951", "1.41421356..."]),
    ("\\pi", ["3.14", "3.1416", "3.14159265358979", "\\frac{22}{7}", "\\frac{355}{113}", "3.14159\\ldots"]),
    ("e", ["2.72", "2.718", "2.71828", "2.71828\\dots", "2.718281828\\ldots"]),
    ("\\frac{1}{3}", ["0.33", "0.333", "33.3\\%", "33.33\\%"]),
    ("\\frac{\\sqrt{2}}{2}", ["0.707", "0.7071"]),
    ("\\frac{3\\pi}{2}", ["4.71", "4.712"]),
    ("\\ln 2", ["0.693", "0.6931"]),
    ("1", ["0.9999", "1.0001", "0.999999999999", "1.0000000000000000000001"]),
    ("(\\frac{2}{3}, \\sqrt{3})", ["(0.667, 1.732)"]),
    ("\\frac{2x}{3}", ["0.667x", "0.6667 x"]),
    ("x^2 + 1", ["x^2 + 1.0000000001"]),
]


@pytest.mark.parametrize(("reference", "answers"), APPROXIMATIONS, ids=[r for r, _ in APPROXIMATIONS])
def test_an_approximation_of_an_exact_reference_is_wrong(reference: str, answers: list[str]) -> None:
    for answer in answers:
        assert _grade(answer, reference) is Status.WRONG, answer


EXACT_FORMS = [
    ("\\frac{2}{3}", ["\\frac{4}{6}", "2/3", "\\frac{2}{3} \\approx 0.667", "x = \\frac23 \\approx 0.67",
                      "0.\\overline{6}", "0.\\dot{6}", "0.666\\ldots", "0.666...", "0.666…"]),
    ("\\frac{1}{6}", ["0.1\\overline{6}", "0.1666..."]),
    ("\\frac{1}{7}", ["0.\\overline{142857}", "0.142857142857\\ldots"]),
    ("-2", ["\\sqrt[3]{-8}", "(-8)^{1/3}", "\\sqrt[5]{-32}"]),
    ("2", ["\\lg 100", "\\log_{10} 100"]),
    ("\\frac{\\sqrt{2}}{2}", ["\\frac{1}{\\sqrt{2}}", "\\sqrt{\\frac12}", "2^{-1/2}", "\\sin(\\pi/4)"]),
    ("\\frac{1}{2}", ["0.5", "\\frac{2}{4}", "2/4", "50\\%", "\\sin(\\pi/6)", "\\cos(\\pi/3)", "0.50"]),
    ("1", ["1.0", "1.00", "\\frac{3}{3}", "\\tan(\\pi/4)", "\\ln e", "e^{2\\pi i}", "\\cos^2 x + \\sin^2 x"]),
    ("0", ["-0", "0.0", "\\sin(\\pi)", "e^{i\\pi} + 1"]),
    ("-1", ["e^{i\\pi}", "i^2", "\\cos(\\pi)"]),
    ("i", ["\\sqrt{-1}", "e^{i\\pi/2}", "-\\frac{1}{i}"]),
    ("2i", ["\\sqrt{-4}", "(1+i)^2"]),
    ("3", ["\\log_2 8", "\\log_{10} 1000", "\\ln(e^3)", "e^{\\ln 3}"]),
    ("5", ["|3+4i|", "\\sqrt{25}"]),
    ("1 + \\sqrt{2}", ["\\sqrt{3 + 2\\sqrt{2}}"]),
    ("\\frac{1 + \\sqrt{5}}{4}", ["\\cos(\\pi/5)"]),
    ("e^{-\\pi/2}", ["i^i"]),
    ("\\frac{3\\pi}{2}", ["1.5\\pi", "\\frac{3}{2}\\pi"]),
    ("\\frac{x}{2}", ["0.5x", "\\frac{1}{2} x"]),
]


@pytest.mark.parametrize(("reference", "answers"), EXACT_FORMS, ids=[r for r, _ in EXACT_FORMS])
def test_equal_exact_forms_are_correct(reference: str, answers: list[str]) -> None:
    for answer in answers:
        assert _grade(answer, reference) is Status.CORRECT, answer


@pytest.mark.parametrize(("answer", "reference"), [
    ("e^{i\\pi}", "1"), ("\\sqrt{-1}", "-i"), ("\\sqrt{-4}", "-2i"), ("e^{-100}", "0"), ("\\ln 3", "1"),
    ("\\sin(\\pi/6)", "\\frac{\\sqrt3}{2}"), ("10^{20} + 1", "10^{20}"),
])
def test_different_exact_forms_are_wrong(answer: str, reference: str) -> None:
    assert _grade(answer, reference) is Status.WRONG


BIG = "123456789012345678901"


@pytest.mark.parametrize(("answer", "reference", "ok"), [
    (BIG, "123456789012345678900", False),
    ("123456789012345678900", BIG, False),
    ("-" + BIG, "-123456789012345678900", False),
    ("12345678901234567890123456789", "12345678901234567890123456788", False),
    ("99999999999999999999", "100000000000000000000", False),
    ("100000000000000000001", "10^{20}", False),
    ("2^{64}", "18446744073709551615", False),
    ("\\frac{100000000000000000001}{3}", "\\frac{100000000000000000000}{3}", False),
    ("\\$" + BIG, "123456789012345678900", False),
    (BIG, BIG, True),
    ("123,456,789,012,345,678,901", BIG, True),
    ("1e20", "100000000000000000000", True),
    ("1.0e20", "100000000000000000000", True),
    ("1 \\times 10^{20}", "100000000000000000000", True),
    ("10^{20}", "100000000000000000000", True),
    ("100000000000000000000", "1e20", True),
    ("2^{64}", "18446744073709551616", True),
    ("2^{64} - 1", "18446744073709551615", True),
])
def test_integers_and_rationals_compare_exactly_at_any_size(answer: str, reference: str, ok: bool) -> None:
    assert _grade(answer, reference) is (Status.CORRECT if ok else Status.WRONG)


# reference, answers equal at the reference's last digit, answers that are not
DECIMAL_REFERENCES = [
    ("0.33", ["\\frac{1}{3}", "0.333", "0.3333", "0.33", "0.330", "0.325", "33\\%", "33.3\\%"], ["0.3", "0.34", "0.335"]),
    ("0.333", ["\\frac13", "0.3333"], ["0.33", "0.334"]),
    ("0.67", ["\\frac{2}{3}", "0.667", "0.666"], ["0.66", "0.6", "0.7"]),
    ("0.5", ["\\frac12", "0.50", "1/2"], ["0.6", "0.4"]),
    ("2.50", ["2.5", "\\frac{5}{2}", "2.500", "2.499"], ["2.4", "2.51"]),
    ("1.41", ["\\sqrt{2}", "1.414"], ["1.42", "1.4"]),
    ("3.14", ["\\pi", "3.1416", "\\frac{22}{7}"], ["3.15", "\\frac{19}{6}"]),
    ("-0.67", ["-\\frac{2}{3}", "-0.665"], ["-0.66", "0.67"]),
    ("85.71", ["\\frac{600}{7}", "85.714"], ["85.7", "85.72"]),
    ("6.02 \\times 10^{23}", ["6.022 \\times 10^{23}", "6.02e23", "602000000000000000000000"], ["6.03 \\times 10^{23}", "6 \\times 10^{23}"]),
    ("2.5e3", ["2500", "2.5 \\times 10^3", "2549"], ["2550", "2400"]),
    ("41.4\\%", ["\\sqrt{2} - 1", "41.42\\%", "0.4142"], ["0.41", "42\\%"]),
    ("(0.33, 0.67)", ["(\\frac13, \\frac23)"], ["(0.3, 0.7)"]),
]


@pytest.mark.parametrize(("reference", "good", "bad"), DECIMAL_REFERENCES, ids=[r for r, _, _ in DECIMAL_REFERENCES])
def test_a_decimal_reference_is_known_to_its_last_digit(reference: str, good: list[str], bad: list[str]) -> None:
    for answer in good:
        assert _grade(answer, reference) is Status.CORRECT, answer
    for answer in bad:
        assert _grade(answer, reference) is Status.WRONG, answer


def test_tolerance_is_opt_in_and_integer_references_stay_exact() -> None:
    assert _grade("3.1416", "\\pi") is Status.WRONG
    tolerant = MathVerifier(rel_tol=1e-4)
    assert _grade("3.1416", "\\pi", tolerant) is Status.CORRECT
    assert _grade("0.6667", "\\frac23", tolerant) is Status.CORRECT
    assert _grade("0.67", "\\frac23", tolerant) is Status.WRONG  # 5e-3 relative: outside 1e-4
    assert _grade("70000.5", "70000", tolerant) is Status.WRONG
    assert _grade("70000.5", "70000", MathVerifier(rel_tol=1e-4, integer_tol=True)) is Status.CORRECT
    rounding = MathVerifier(rounding=True)
    assert _grade("1.414", "\\sqrt2", rounding) is Status.CORRECT
    assert _grade("1.41", "\\sqrt2", rounding) is Status.CORRECT
    assert _grade("1.4", "\\sqrt2", rounding) is Status.WRONG  # fewer than 3 significant digits


def test_tolerance_options_come_through_the_registry() -> None:
    from verifiers.registry import build_verifier

    assert build_verifier("math")("\\boxed{0.6667}", "\\frac23").status is Status.WRONG
    assert build_verifier("math", rel_tol=1e-3)("\\boxed{0.6667}", "\\frac23").correct
    with pytest.raises(ValueError, match="rel_tol"):
        MathVerifier(rel_tol=-1)


def test_exactly_equal_decides_with_sympy_not_floats() -> None:
    assert exactly_equal(sympy.sqrt(3 + 2 * sympy.sqrt(2)), 1 + sympy.sqrt(2))
    assert exactly_equal(sympy.cos(sympy.pi / 5), (1 + sympy.sqrt(5)) / 4)
    assert not exactly_equal(sympy.exp(-1000), sympy.Integer(0))  # tiny, but sympy resolves it
    assert not exactly_equal(sympy.pi, sympy.Rational(314159265358979323846, 10**20))
    assert not exactly_equal(sympy.Integer(10) ** 40 + 1, sympy.Integer(10) ** 40)


def test_rounds_to_rounds_half_away_from_zero() -> None:
    half = sympy.Rational
    assert rounds_to(half(325, 1000), half(33, 100), 2)
    assert not rounds_to(half(335, 1000), half(33, 100), 2)
    assert rounds_to(half(-325, 1000), half(-33, 100), 2)
    assert rounds_to(half(-335, 1000), half(-34, 100), 2)
    assert rounds_to(sympy.pi * 10**30, sympy.Integer(3) * 10**30, -30)
    assert not rounds_to(sympy.pi * 10**30, sympy.Integer(3), -30)  # 3 is not a multiple of 10^30
    assert not rounds_to(sympy.E ** sympy.E ** sympy.E ** sympy.E, half(3, 2), 1)  # huge: cheap and False
