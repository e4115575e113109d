"""A rational reference needs the answer's value: restating the question is not an answer (verifier v4).

GRPO on the arithmetic benchmark learnt in 12 steps to answer "The answer is 99 + 16." (sympy
evaluates it to the reference); these are that policy's own completions and their neighbours.
"""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math.evaluated import unevaluated
from verifiers.math.verifier import MathVerifier

V = MathVerifier()


@pytest.mark.parametrize(("completion", "reference"), [
    ("1. 99 + 16 = 205\nThe answer is 99 + 16.\n\nThe output of the output box is:\n\nOutput: 99 + 16", "115"),
    ("1. 0 * 57 = 57\nThe answer is 0 * 57.\n\nThe output of the code is 0 * 57.", "0"),
    ("The answer is \\boxed{2 \\times 3}.", "6"),
    ("So the total is $\\frac{1}{2} + \\frac{1}{3}$.", "\\frac{5}{6}"),
    ("The answer is 100 + 15.", "115"),
    ("Answer: 45 \\cdot 7", "315"),
])
def test_an_operation_on_numbers_is_wrong_for_a_rational_reference(completion: str, reference: str) -> None:
    result = V(completion, reference)
    assert result.status is Status.WRONG and "evaluate it" in result.feedback, result


@pytest.mark.parametrize(("completion", "reference"), [
    ("The answer is 115.", "115"),
    ("The answer is \\boxed{\\frac{3}{4}}.", "0.75"),
    ("The final answer is 2 1/2.", "5/2"),
    ("\\boxed{6/8}", "\\frac{3}{4}"),
    ("\\boxed{-5}", "-5"),
    ("\\boxed{2^{64} - 1}", "18446744073709551615"),
    ("\\boxed{1 \\times 10^{20}}", "100000000000000000000"),
    ("\\boxed{3 + 2\\sqrt{2}}", "3 + 2\\sqrt{2}"),  # an irrational reference's canonical form
    ("\\boxed{x + 1}", "1 + x"),
])
def test_values_and_notations_stay_correct(completion: str, reference: str) -> None:
    assert V(completion, reference).status is Status.CORRECT


@pytest.mark.parametrize("text", ["99 + 16", "(99)+(16)", "-5 + 2", "3 * -2", "6/2/3", "1 + \\frac{1}{2}",
                                  "\\frac{99+16}{1}", "8 - 3"])
def test_operations_are_unevaluated(text: str) -> None:
    assert unevaluated(text)


@pytest.mark.parametrize("text", ["115", "-5", "(-5)", "1.5", "\\frac{3}{4}", "2\\frac{1}{2}", "-2 1/2",
                                  "6.02 \\times 10^{23}", "2^{10}", "25\\%", "2\\pi", "x + 1", ""])
def test_values_are_evaluated(text: str) -> None:
    assert not unevaluated(text)


@pytest.mark.parametrize("text", ["1" * 2000 + "x", "1." * 1000, "1 " * 1000 + "/", "1+" * 1000 + "1"])
def test_long_answers_are_read_in_linear_time(text: str) -> None:
    import time

    start = time.perf_counter()  # the first version's digit-run alternatives took 5 s at 25 digits, doubling per digit
    unevaluated(text)
    assert time.perf_counter() - start < 0.5
