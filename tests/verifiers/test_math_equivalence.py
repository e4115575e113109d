"""Equivalence classes from the issue: each row is (reference, equivalent answers, wrong answers)."""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier

V = MathVerifier()

CASES = [
    # reference, [equivalent], [wrong]
    ("1000", ["1,000", "1000.0", "\\$1,000", "1\\,000"], ["1001", "100"]),
    ("0.5", ["\\frac{1}{2}", "\\dfrac12", "1/2", ".5", "50\\%"], ["0.6", "\\frac{1}{3}"]),
    ("\\frac{7}{2}", ["3 \\frac{1}{2}", "3\\tfrac{1}{2}", "3.5", "7/2"], ["3.4", "2 \\frac{1}{2}"]),
    ("25\\%", ["0.25", "25", "\\frac{1}{4}"], ["0.3", "2.5"]),
    ("1000000", ["1e6", "10^6", "1 \\times 10^{6}", "1,000,000"], ["1e5"]),
    ("-3", ["-3", "- 3", "(-3)"], ["3"]),
    # Exact references take no decimal approximation (the policy; see test_math_policy.py).
    ("2\\sqrt{2}", ["\\sqrt{8}", "2^{3/2}"], ["\\sqrt{6}", "2.82", "2.8", "2.8284271", "2.83", "2.828"]),
    ("\\frac{\\pi}{6}", ["\\pi/6", "30^\\circ"], ["\\pi/3", "60^\\circ", "0.523599"]),
    ("e^2", ["\\exp(2)", "e \\cdot e"], ["2e", "e^3"]),
    ("x^2+2x+1", ["(x+1)^2", "1 + 2x + x^2"], ["(x-1)^2", "x^2+1"]),
    ("3", ["x = 3", "x=3", "k = 3"], ["x = 4"]),
    ("y = 2x + 1", ["2x+1", "y=1+2x"], ["2x - 1"]),
    ("[-2, 7]", ["-2 \\leq x \\leq 7", "x \\in [-2,7]", "[-2,7]"], ["(-2, 7)", "[-2, 6]", "-2 < x \\le 7"]),
    ("(-\\infty, -5)", ["k < -5", "x<-5", "-5 > k"], ["k > -5", "k \\leq -5"]),
    ("(1,2] \\cup [3, \\infty)", ["(1,2]\\cup[3,+\\infty)", "x \\geq 3 \\text{ or } 1 < x \\leq 2"], ["(1,2) \\cup [3,\\infty)"]),
    ("\\{1, 2, 3\\}", ["\\{3, 2, 1\\}", "1, 2, 3", "3, 1, 2"], ["\\{1, 2\\}", "\\{1, 2, 4\\}"]),
    ("(1, 2)", ["(1,2)", "\\left(1, 2\\right)"], ["(2, 1)", "[1, 2]"]),
    ("(1,2), (3,4)", ["(3,4), (1,2)"], ["(2,1), (3,4)", "(1,2)"]),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", ["\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}"],
     ["\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}"]),
    ("\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", ["(1, -2)", "\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}"], ["(-2, 1)"]),
    # Both sides with units: the units are compared too, so an area is not a length (#30).
    ("12 \\text{ cm}", ["12", "12 \\text{ centimeters}", "0.12 \\text{ m}"], ["13 \\text{ cm}", "12\\mbox{ cm}^2"]),
    ("45^\\circ", ["45", "45^{\\circ}", "\\frac{\\pi}{4}"], ["60^\\circ"]),
    ("1 \\pm \\sqrt{2}", ["1+\\sqrt{2}, 1-\\sqrt{2}", "1-\\sqrt{2}, 1+\\sqrt{2}"], ["1+\\sqrt{2}"]),
    ("f(x) = 2x", ["f(t) = 2t", "2x"], ["f(x) = x"]),
    ("\\frac{600}{7}", ["600/7", "85\\frac{5}{7}"], ["85.71", "85.714", "85.7", "86"]),
    ("85.71", ["\\frac{600}{7}", "85.714", "85.7142857", "85.71"], ["85.7", "85.72", "86", "85.8"]),
    # Named values compare name by name, not as the multiset of their values.
    ("a = 1, b = 2", ["b = 2, a = 1", "a=1,b=2"], ["a = 2, b = 1", "a = 1, b = 3"]),
    ("x = -1, y = 3, z = 0", ["z = 0, x = -1, y = 3"], ["x = 3, y = -1, z = 0", "x = 0, y = 3, z = -1"]),
    # Where a side can tell signs apart, negative points are tried too: x is not |x|.
    ("|x|", ["\\sqrt{x^2}", "|-x|", "\\left|x\\right|"], ["x", "-x"]),
    ("\\max(x, 0)", ["\\frac{x + |x|}{2}"], ["x", "|x|"]),
    ("x", ["\\frac{x^2}{x}"], ["|x|"]),
    # An even root of an even power is |.|-like: sampled at negative points too (#30).
    ("t", ["\\sqrt[3]{t^3}", "\\frac{t^2}{t}"], ["\\sqrt[6]{t^6}", "\\sqrt{t^2}", "\\sqrt[4]{t^4}", "(t^4)^{1/4}"]),
    ("|t|", ["\\sqrt[6]{t^6}", "\\sqrt{t^2}", "(t^8)^{1/8}"], ["t"]),
    ("x + 1", ["\\sqrt[3]{(x+1)^3}"], ["\\sqrt{(x+1)^2}", "|x + 1|", "\\sqrt{x^2 + 2x + 1}"]),
    ("2|x|", ["\\sqrt{4x^2}"], ["2x"]),
    ("x^2", ["\\sqrt{x^4}"], ["-x^2"]),
    ("\\sqrt{xy}", ["\\sqrt{x}\\sqrt{y}"], []),  # no even power inside: positive points, as before
]


@pytest.mark.parametrize(("reference", "good", "bad"), CASES, ids=[c[0][:30] for c in CASES])
def test_equivalence(reference: str, good: list[str], bad: list[str]) -> None:
    for answer in good:
        result = V(f"\\boxed{{{answer}}}", reference)
        assert result.correct, (answer, result)
    for answer in bad:
        result = V(f"\\boxed{{{answer}}}", reference)
        assert result.status is Status.WRONG, (answer, result)


def test_multiple_choice_letters() -> None:
    assert V("The answer is (C).", "C").correct
    assert V("\\boxed{C}", "(C)").correct
    assert V("\\boxed{B}", "C").status is Status.WRONG
    assert V("I cannot decide.", "C").status is Status.INVALID


def test_integer_references_are_exact_even_with_tolerance() -> None:
    assert V("\\boxed{70000.5}", "70000").status is Status.WRONG
    assert MathVerifier(rel_tol=1e-4)("\\boxed{70000.5}", "70000").status is Status.WRONG
    assert MathVerifier(integer_tol=True, rel_tol=1e-4)("\\boxed{70000.5}", "70000").correct


def test_tolerance_is_opt_in() -> None:
    assert V("\\boxed{2.71829}", "2.71828").status is Status.WRONG  # exact by default
    assert MathVerifier(rel_tol=1e-4)("\\boxed{2.71829}", "2.71828").correct
    assert MathVerifier(rel_tol=0.01)("\\boxed{3.13}", "\\pi").correct
    rounding = MathVerifier(rounding=True)  # the pre-version-2 reading of decimal answers
    assert rounding("\\boxed{85.71}", "\\frac{600}{7}").correct
    assert rounding("\\boxed{85.7}", "\\frac{600}{7}").correct
    assert rounding("\\boxed{85.72}", "\\frac{600}{7}").status is Status.WRONG
    assert rounding("\\boxed{0.67}", "\\frac{2}{3}").status is Status.WRONG  # < 3 significant digits


def test_text_answers() -> None:
    assert V("\\boxed{\\text{odd}}", "\\text{odd}").correct
    assert V("\\boxed{\\text{Petya}}", "Petya will receive the last token.").correct
    assert V("\\boxed{\\text{odd}}", "The function is not odd.").status is Status.WRONG  # negated reference


def test_unparseable_reference_is_invalid() -> None:
    assert V("\\boxed{1}", "\\frac{").status is Status.INVALID
