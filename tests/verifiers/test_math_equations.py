"""Equations compared as equations, assignments by their names, named values against tuples
(verifiers/math/equations.py)."""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier
from verifiers.math.equations import conventional_order

V = MathVerifier()


def _grade(answer: str, reference: str) -> Status:
    return V(f"\\boxed{{{answer}}}", reference).status


# reference, equal equations, different ones
EQUATIONS = [
    ("w = 4", ["w = 4", "w=4", "4", "2w = 8"], ["z = 4", "x = 4", "w = 5"]),
    ("y = 4", ["y=4"], ["x = 4", "a = 4"]),
    ("n = 3", ["n = 3"], ["k = 3", "m = 3"]),
    ("x - y + 1 = 0", ["y = x + 1", "y - x = 1", "2y = 2x + 2", "x = y - 1", "x + 1 = y"], ["y = x - 1", "x + y + 1 = 0"]),
    ("y = x + 1", ["x - y + 1 = 0", "y = 1 + x", "x + 1", "-x + y - 1 = 0"], ["y = x - 1", "z = x + 1", "x + y + 1 = 0"]),
    ("2x - y + 1 = 0", ["y = 2x + 1"], ["y = 2x - 1"]),
    ("x^2 + y^2 = 1", ["y^2 + x^2 - 1 = 0", "2x^2 + 2y^2 = 2"], ["x^2 + y^2 = 4", "x^2 + z^2 = 1"]),
    ("x = 3", ["2x = 6", "x = 3", "3"], ["y = 3", "2x = 3"]),
    ("f(x) = 2x", ["f(t) = 2t", "2x", "y = 2x"], ["g(x) = 2x", "f(x) = x", "z = 2x"]),
]


@pytest.mark.parametrize(("reference", "good", "bad"), EQUATIONS, ids=[r for r, _, _ in EQUATIONS])
def test_equations_compare_as_equations_with_their_variables(reference: str, good: list[str], bad: list[str]) -> None:
    for answer in good:
        assert _grade(answer, reference) is Status.CORRECT, answer
    for answer in bad:
        assert _grade(answer, reference) is Status.WRONG, answer


# reference, answers that name the values in the right order, in the wrong order
NAMED = [
    ("(7, 3)", ["x = 7, y = 3", "y = 3, x = 7", "(x, y) = (7, 3)", "(y, x) = (3, 7)"],
     ["y = 7, x = 3", "x = 3, y = 7", "(y, x) = (7, 3)"]),
    ("(3, 7)", ["y = 7, x = 3", "x_2 = 7, x_1 = 3", "b = 7, a = 3"], ["x_2 = 3, x_1 = 7", "a = 7, b = 3"]),
    ("(1, 2, 3)", ["z = 3, x = 1, y = 2", "c = 3, a = 1, b = 2"], ["z = 1, x = 3, y = 2", "c = 1, a = 3, b = 2"]),
    ("x = 3, y = 7", ["(3, 7)", "y = 7, x = 3"], ["(7, 3)", "a = 3, b = 7", "x = 7, y = 3"]),
    ("y = 7, x = 3", ["(3, 7)"], ["(7, 3)"]),
    ("(k, l) = (1, 2)", ["(1, 2)"], ["(2, 1)"]),  # the names written as a tuple give their own order
]


@pytest.mark.parametrize(("reference", "good", "bad"), NAMED, ids=[r for r, _, _ in NAMED])
def test_named_values_against_a_tuple_follow_the_conventional_order(reference: str, good: list[str], bad: list[str]) -> None:
    for answer in good:
        assert _grade(answer, reference) is Status.CORRECT, answer
    for answer in bad:
        assert _grade(answer, reference) is Status.WRONG, answer


@pytest.mark.parametrize(("answer", "reference"), [
    ("m = 1, n = 2", "(1, 2)"),
    ("p = 1, q = 2", "(1, 2)"),
    ("x = 1, b = 2", "(1, 2)"),
    ("(1, 2)", "u = 1, v = 2"),
])
def test_named_values_without_a_conventional_order_are_invalid_against_a_tuple(answer: str, reference: str) -> None:
    result = V(f"\\boxed{{{answer}}}", reference)
    assert result.status is Status.INVALID, result
    assert "order" in result.feedback
    assert "u," not in result.feedback  # never the reference's names


def test_conventional_order() -> None:
    assert conventional_order(["y", "x"]) == ["x", "y"]
    assert conventional_order(["z", "x", "y"]) == ["x", "y", "z"]
    assert conventional_order(["c", "a"]) == ["a", "c"]
    assert conventional_order(["x_10", "x_2"]) == ["x_2", "x_10"]
    assert conventional_order(["m", "n"]) is None
    assert conventional_order(["x", "a"]) is None
