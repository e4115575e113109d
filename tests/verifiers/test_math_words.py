"""Answers that say there is no answer: one meaning, any spelling (verifiers/math/words.py)."""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier

V = MathVerifier()

EMPTY = ["\\varnothing", "\\emptyset", "\\{\\}", "\\{ \\}", "\\text{no solution}", "\\text{No solutions}",
         "\\text{no real solutions}", "\\text{There are no real roots}", "\\text{none}", "none", "no solution",
         "\\text{the empty set}", "\\text{The equation has no solution}", "x \\in \\emptyset", "\u2205"]
UNDEFINED = ["\\text{DNE}", "DNE", "\\text{does not exist}", "\\text{undefined}", "undefined",
             "\\text{The limit does not exist}", "\\text{not defined}", "\\text{It is undefined}"]


@pytest.mark.parametrize("reference", [EMPTY[i] for i in (0, 1, 2, 4, 6, 8)])
def test_every_spelling_of_no_solution_is_the_empty_set(reference: str) -> None:
    for answer in EMPTY:
        result = V(f"\\boxed{{{answer}}}", reference)
        assert result.correct, (answer, result)


@pytest.mark.parametrize("reference", [UNDEFINED[i] for i in (0, 2, 3, 5)])
def test_every_spelling_of_does_not_exist_is_one_answer(reference: str) -> None:
    for answer in UNDEFINED:
        result = V(f"\\boxed{{{answer}}}", reference)
        assert result.correct, (answer, result)


@pytest.mark.parametrize(("answer", "reference"), [
    ("\\text{DNE}", "\\emptyset"), ("\\emptyset", "\\text{undefined}"), ("\\text{no solution}", "\\text{DNE}"),
    ("0", "\\emptyset"), ("\\emptyset", "0"), ("\\text{none}", "0"), ("\\emptyset", "\\{0\\}"),
    ("\\infty", "\\text{DNE}"), ("\\text{undefined}", "0"), ("\\text{no}", "\\text{no solution}"),
    ("\\text{yes}", "\\text{no}"),
])
def test_the_meanings_differ_from_each_other_and_from_values(answer: str, reference: str) -> None:
    assert V(f"\\boxed{{{answer}}}", reference).status is Status.WRONG
