"""Multiple-choice letters in the forms models write them (verifiers/math/choice.py)."""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier
from verifiers.math.choice import AMBIGUOUS, answer_letter, reference_letter

V = MathVerifier()

NAMES_B = [
    "\\boxed{\\textbf{(B)}}", "\\boxed{\\text{(B)}}", "\\boxed{(B)}", "\\boxed{B}", "\\boxed{\\mathrm{B}}",
    "\\boxed{\\textbf{B}}", "\\boxed{\\mathbf{(B)}}", "\\boxed{\\text{B}}", "\\boxed{b}", "\\boxed{(b)}",
    "$\\boxed{\\textbf{(B)}\\ 12}$", "B)", "(B)", "option B", "Option (B)", "the answer is B",
    "The answer is B because the sum is even.", "The answer is **(B)**.", "Final answer: B.",
    "Answer: option B", "The correct choice is option B.", "I choose (B).", "So we pick choice (B).",
    "The answer is (B) 12", "Comparing the options, (B) is correct.", "We go with option (B)",
]


@pytest.mark.parametrize("completion", NAMES_B)
def test_the_letter_is_found_in_its_formatting(completion: str) -> None:
    assert V(completion, "B").correct, V(completion, "B")
    assert V(completion, "C").status is Status.WRONG


@pytest.mark.parametrize("reference", ["B", "(B)", "\\text{(B)}", "\\textbf{(B)}", "\\mathrm{B}", "B."])
def test_reference_forms(reference: str) -> None:
    assert reference_letter(reference) == "B"
    assert V("\\boxed{B}", reference).correct
    assert V("\\boxed{\\textbf{(C)}}", reference).status is Status.WRONG


@pytest.mark.parametrize("completion", [
    "Because of symmetry, both are equal.",
    "Because it is so.",
    "Best to check each case.",
    "(A) fails and (B) works.",  # no affirmative mention
    "We can rule out option B.",
    "I would not choose B here.",
    "Option (A) is wrong, so I pick (B)... or maybe (C) is correct.",  # two affirmative letters
    "\\boxed{B, C}",
    "\\boxed{B \\text{ or } C}",
    "\\boxed{12}",  # the content, not the letter
])
def test_no_single_choice_is_not_credited(completion: str) -> None:
    result = V(completion, "B")
    assert result.status is Status.INVALID, result


def test_articles_are_not_choices() -> None:
    assert V("It is A good idea to factor first.", "A").status is Status.INVALID
    assert V("A", "A").correct


def test_answer_letter() -> None:
    assert answer_letter("Because") is None
    assert answer_letter("A cat") is None
    assert answer_letter("B or D") == AMBIGUOUS
    assert answer_letter("(B), a larger value") == "B"
    assert answer_letter("\\textbf{(E)}\\ 12") == "E"
    assert reference_letter("12") is None and reference_letter("Bx") is None
