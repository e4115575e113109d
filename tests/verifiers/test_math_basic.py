"""MathVerifier on the common cases: numbers, fractions, decimals and the usual answer markers."""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier

V = MathVerifier()


@pytest.mark.parametrize(
    ("completion", "reference"),
    [
        ("so the result is \\boxed{\\frac{1}{2}}", "0.5"),
        ("Work...\n#### 1,000", "1000"),
        ("The answer is $5.", "5"),
        ("It is 5.0", "5"),
        ("x = 3", "3"),
        ("first 7, then finally 8", "8"),
        ("\\boxed{\\dfrac{3}{4}}", "3/4"),
        ("The final answer is 2 1/2.", "5/2"),
        ("\\boxed{-12}", "-12"),
    ],
)
def test_correct(completion: str, reference: str) -> None:
    result = V(completion, reference)
    assert result.status is Status.CORRECT, result


@pytest.mark.parametrize(
    ("completion", "reference"),
    [("\\boxed{3}", "4"), ("#### 1001", "1000"), ("The answer is 0.6.", "1/2"), ("\\boxed{5}", "-5")],
)
def test_wrong(completion: str, reference: str) -> None:
    assert V(completion, reference).status is Status.WRONG


def test_no_answer_is_invalid_not_wrong() -> None:
    result = V("I have no idea.", "4")
    assert result.status is Status.INVALID and result.score == 0.0


def test_last_box_wins_over_earlier_mentions() -> None:
    assert V("try \\boxed{3}; no, \\boxed{4}", "4").correct


def test_feedback_does_not_reveal_the_reference() -> None:
    result = V("\\boxed{3}", "987654")
    assert "987654" not in result.feedback


def test_identity() -> None:
    assert V.name == "math" and V.version
