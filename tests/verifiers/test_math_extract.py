"""Answer extraction: markers, priority, the final mention, several boxes."""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier
from verifiers.math.extract import AmbiguousAnswer, boxed_contents, extract_answers


def test_boxed_with_nested_braces_and_fbox() -> None:
    assert boxed_contents("a \\boxed{\\frac{1}{\\sqrt{2}}} b \\fbox{3}") == ["\\frac{1}{\\sqrt{2}}", "3"]
    assert boxed_contents("\\boxed 5$") == ["5"]
    assert boxed_contents("\\boxed{unclosed") == []


@pytest.mark.parametrize(
    ("text", "answer", "method"),
    [
        ("steps... #### 42", "42", "hash"),
        ("So the final answer is 7. Done.", "7", "final_answer"),
        ("Thus the answer is $3.5$.", "$3.5$", "answer_is"),
        ("We get $x=2$ and then $x = 3$", "x = 3", "latex"),
        ("(1, 2), (3, 4)", "(1, 2), (3, 4)", "whole"),
        ("it costs 12 dollars, then 15 dollars", "15", "last_number"),
    ],
)
def test_methods(text: str, answer: str, method: str) -> None:
    first = extract_answers(text)[0]
    assert (first.text, first.method) == (answer, method)


def test_final_mention_not_first() -> None:
    text = "The answer is 3? Let me check. Actually the answer is 4."
    assert extract_answers(text)[0].text == "4"
    # Two different boxes with no revision between them offer two answers (#30, test_math_hedging.py);
    # a revision counts its last answer.
    assert MathVerifier()("first \\boxed{3} then \\boxed{4}", "4").status is Status.INVALID
    assert MathVerifier()("first \\boxed{3}; wait, that is wrong: \\boxed{4}", "4").correct


def test_box_policies() -> None:
    text = "\\boxed{2} and \\boxed{-3}"
    assert extract_answers(text, box_policy="first")[0].text == "2"
    assert extract_answers(text, box_policy="join")[0].text == "2, -3"
    with pytest.raises(AmbiguousAnswer):
        extract_answers(text, box_policy="reject")
    assert MathVerifier(box_policy="join")(text, "-3, 2").correct
    assert MathVerifier(box_policy="reject")(text, "2").status is Status.INVALID
    assert MathVerifier(box_policy="reject")("\\boxed{2} so \\boxed{2}", "2").correct


def test_priority_is_configurable() -> None:
    text = "#### 5\nso the answer is 6"
    assert MathVerifier()(text, "5").correct
    assert MathVerifier(extraction_priority=["answer_is", "hash"])(text, "6").correct
    assert MathVerifier(extraction_priority=["boxed"])(text, "5").status is Status.INVALID
    with pytest.raises(ValueError, match="unknown methods"):
        MathVerifier(extraction_priority=["telepathy"])


def test_a_decisive_marker_that_does_not_parse_is_invalid() -> None:
    result = MathVerifier()("\\boxed{\\frac{}", "1")
    assert result.status is Status.INVALID


def test_currency_dollars_are_not_latex_spans() -> None:
    assert MathVerifier()("It costs $5 and then $3 more, so 8 in total", "8").correct
