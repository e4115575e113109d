"""Several final answers (verifiers/math/hedge.py): a hedge is invalid, a revision counts its last answer.

Both sides of the line are tested: offering alternatives must not earn reward whichever comes
last, and reasoning that corrects itself must not be punished. Also the trailing remark ("8, not
10"): a negated number is not the answer (verifiers/math/extract.py).
"""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier
from verifiers.math.extract import extract_answers, without_remark
from verifiers.math.hedge import committed

V = MathVerifier()

# completion, reference: each offers two different final values; graded against either, invalid.
HEDGES = [
    ("The answer is \\boxed{3}, but it could also be \\boxed{9}.", ["3", "9"]),
    ("\\boxed{3} \\boxed{9}", ["3", "9"]),
    ("I think \\boxed{3}. Then \\boxed{9}.", ["3", "9"]),
    ("The final answer is \\boxed{3} or \\boxed{9}.", ["3", "9"]),
    ("\\boxed{\\frac{1}{2}} or \\boxed{\\frac{1}{3}}", ["\\frac12", "\\frac13"]),
    ("The answer is 3 or 9.", ["3", "9"]),
    ("The answer is either 3 or 9.", ["3", "9"]),
    ("It's either 3 or 9.", ["3", "9"]),
    ("She has 3 or 9 marbles.", ["3", "9"]),
    ("So $x = 3$ or $x = 9$.", ["3", "9"]),
    ("\\boxed{3 \\text{ or } 9}", ["3", "9"]),
    ("\\boxed{x = 3 \\text{ or } x = 9}", ["x = 3", "x = 9"]),
    ("The answer is \\boxed{9}. Alternatively, the answer is 3.", ["3", "9"]),
    ("The answer is \\boxed{9}. Alternatively, it could be $3$.", ["3", "9"]),
    ("The answer is \\boxed{3}. Alternatively, \\boxed{9}.", ["3", "9"]),
    ("\\boxed{9}, though it could also be 3 if we count differently.", ["3", "9"]),
    ("\\boxed{9}. It might be 3, though.", ["3", "9"]),
    ("\\boxed{9} (or possibly 3)", ["3", "9"]),
    ("\\boxed{9}, or maybe 3.", ["3", "9"]),
    ("\\boxed{9}. Another possible answer is 3.", ["3", "9"]),
    ("\\boxed{9}. Perhaps 3.", ["3", "9"]),
    ("The answer is 3 (or 9).", ["3", "9"]),
    ("The answer is 3, or 9.", ["3", "9"]),
    ("\\boxed{3} (could be 9)", ["3", "9"]),
    ("Either \\boxed{3} or \\boxed{9}", ["3", "9"]),
    ("\\boxed{3, 9}", ["3", "9"]),
    ("The answer is 3. If we include zero, it would be 4.", ["3", "4"]),
    ("The answer is \\boxed{3} if n is odd and \\boxed{9} if n is even.", ["3", "9"]),
    ("The answer is 3; alternatively 9.", ["3", "9"]),
    ("Answer: 3 or possibly 9", ["3", "9"]),
    ("\\boxed{9} (3 is also possible)", ["3", "9"]),
    ("\\boxed{9}. I would say 3 is also plausible.", ["3", "9"]),
    ("\\boxed{9}. If the question meant the total, the answer would instead be 3.", ["3", "9"]),
    ("\\boxed{\\pm 3}", ["3", "-3"]),
    ("\\boxed{9}. 3 is another possibility.", ["3", "9"]),
    ("\\boxed{9} if n is odd, otherwise 3.", ["3", "9"]),
    ("\\boxed{9}, unless n is even, in which case 3.", ["3", "9"]),
    ("The answer is 3. The answer is 9.", ["3", "9"]),
    ("#### 3\n#### 9", ["3", "9"]),
    # a revision word does not excuse a hedge after it
    ("The answer is \\boxed{3}. Wait, it could also be \\boxed{9}.", ["3", "9"]),
    ("The answer is \\boxed{3}. Hmm, or maybe \\boxed{9}.", ["3", "9"]),
    ("\\boxed{B} or \\boxed{C}", ["B", "C"]),
]


@pytest.mark.parametrize(("completion", "references"), HEDGES, ids=[c[:40] for c, _ in HEDGES])
def test_a_completion_that_hedges_is_invalid_whichever_comes_last(completion: str, references: list[str]) -> None:
    for reference in references:
        result = V(completion, reference)
        assert result.status is Status.INVALID, (reference, result)
        assert result.score == 0.0


# completion, reference: an explicit revision counts its last answer, as before.
REVISIONS = [
    ("The answer is \\boxed{3}. Wait, that is wrong \u2014 the answer is \\boxed{9}.", "9"),
    ("The answer is \\boxed{3}. Wait, that is wrong \u2014 the answer is 9.", "9"),
    ("\\boxed{3}. Correction: the answer is \\boxed{9}.", "9"),
    ("\\boxed{3}. Correction: \\boxed{9}.", "9"),
    ("So the answer is 3. Actually, I made a mistake: 4 + 5 = 9, so the answer is 9.", "9"),
    ("\\boxed{3}. Hmm, let me recompute: 4 + 5 = 9. \\boxed{9}", "9"),
    ("\\boxed{3}... no, that's not right. \\boxed{9}", "9"),
    ("\\boxed{3}. Oops, I misread the question. \\boxed{9}", "9"),
    ("try \\boxed{3}; no, \\boxed{4}", "4"),
    ("\\boxed{C}. Wait, no, it's \\boxed{B}.", "B"),
    ("\\boxed{3}\n\nUpon reflection, the answer is \\boxed{9}.", "9"),
    ("\\boxed{3}. That can't be right. \\boxed{9}", "9"),
    ("\\boxed{3}. That doesn't seem right; redo: \\boxed{9}", "9"),
    ("\\boxed{3}. Revised answer: \\boxed{9}", "9"),
    ("\\boxed{3} is incorrect; the correct answer is \\boxed{9}.", "9"),
    ("The answer is \\boxed{3}. Let me double-check: 4+5=9. So the answer is actually \\boxed{9}.", "9"),
    ("\\boxed{3}. On closer inspection, \\boxed{9}.", "9"),
]


@pytest.mark.parametrize(("completion", "reference"), REVISIONS, ids=[c[:40] for c, _ in REVISIONS])
def test_a_revision_counts_its_last_answer(completion: str, reference: str) -> None:
    result = V(completion, reference)
    assert result.correct, result
    first = completion.split("\\boxed{", 1)[1].split("}", 1)[0] if "\\boxed" in completion else "3"
    assert V(completion, first).status is Status.WRONG  # the revised answer no longer counts


# completion, reference: one value, restated or checked, is not a hedge.
SAME_VALUE = [
    ("\\boxed{9} and again \\boxed{9}", "9"),
    ("\\boxed{9}. So the answer is \\boxed{9.0}.", "9"),
    ("The answer is 9 (or equivalently 9.0).", "9"),
    ("The answer is $\\frac{1}{2}$, or equivalently $0.5$.", "\\frac12"),
    ("\\boxed{\\frac{1}{2}} \\approx 0.5", "\\frac12"),
    ("The answer is \\boxed{9}. Alternatively, we can verify: $3 \\times 3 = 9$.", "9"),
    ("The answer is \\boxed{9}. Alternatively, $3 \\times 3 = 9$.", "9"),
    ("It could be 3 or 9; checking, only 9 works. \\boxed{9}", "9"),
    ("Could the answer be 3? No: 3 fails. The answer is \\boxed{9}.", "9"),
    ("The total is 5 + 4 = 9, so \\boxed{9}.", "9"),
    ("\\boxed{9}. Check: 3 squared would be 9.", "9"),
    ("Since 3 > 2, she buys B. The answer is therefore 3.\nThe answer is 3.", "3"),
]


@pytest.mark.parametrize(("completion", "reference"), SAME_VALUE, ids=[c[:40] for c, _ in SAME_VALUE])
def test_one_value_restated_or_alternatives_weighed_before_the_answer_are_not_hedges(completion: str, reference: str) -> None:
    assert V(completion, reference).correct


@pytest.mark.parametrize(("completion", "reference"), [
    ("The roots are \\boxed{3} and \\boxed{9}.", "3, 9"),
    ("x = \\boxed{3} or x = \\boxed{9}", "3, 9"),
    ("The solutions are $x = 3$ or $x = 9$, so \\boxed{3, 9}.", "3, 9"),
    ("\\boxed{x < 1 \\text{ or } x > 3}", "(-\\infty, 1) \\cup (3, \\infty)"),
    ("\\boxed{x = 3 \\text{ or } x = -3}", "\\pm 3"),
    ("So $x = 3$ or $x = 9$.", "3, 9"),
    ("The roots are 3 or 9.", "\\{3, 9\\}"),
])
def test_or_joins_the_parts_of_an_answer_with_several_values(completion: str, reference: str) -> None:
    assert V(completion, reference).correct


def test_several_values_still_hedge_when_each_box_is_a_whole_answer() -> None:
    assert V("\\boxed{3, 9}. Or maybe \\boxed{3, 5}.", "3, 9").status is Status.INVALID
    assert V("\\boxed{3} and \\boxed{5}", "3, 9").status is Status.WRONG  # boxes read together: wrong


@pytest.mark.parametrize(("completion", "reference"), [
    ("So she has 8 marbles, not 10.", "8"),
    ("The answer is 8, not 10.", "8"),
    ("The answer is \\boxed{8}, not \\boxed{10}.", "8"),
    ("She has $8$ marbles (not $10$).", "8"),
    ("Therefore she ends with 8 marbles rather than 10.", "8"),
    ("She has 8 marbles instead of 10.", "8"),
    ("It is 8 \u2014 not 10 \u2014 marbles.", "8"),
    ("The answer is 8 marbles (not 10).", "8"),
    ("The answer is 8 \u2014 she gave away 2, so not 10.", "8"),
    ("She gets 8 out of 10.", "8"),
    ("She has 8 marbles, fewer than 10.", "8"),
    ("She has 8 marbles now (she had 10 before).", "8"),
])
def test_a_negated_number_is_not_the_answer(completion: str, reference: str) -> None:
    assert V(completion, reference).correct
    assert not V(completion, "10").correct


def test_helpers() -> None:
    assert without_remark("8, not 10") == "8"
    assert without_remark("3 (or equivalently 3.0)") == "3"
    assert without_remark("not 10") == "not 10"  # a leading negation is the whole claim
    assert without_remark("\\text{not odd}") == "\\text{not odd}"
    text = "\\boxed{3}. Wait, that is wrong: \\boxed{9}"
    assert committed(text) == ": \\boxed{9}"
    assert committed("\\boxed{3}. Wait, maybe \\boxed{9}") == "\\boxed{3}. Wait, maybe \\boxed{9}"
    assert [c.text for c in extract_answers("8 marbles, not 10", ["last_number"])] == ["8"]


def test_explicit_box_policies_keep_their_meaning() -> None:
    text = "\\boxed{2} and \\boxed{-3}"
    assert MathVerifier(box_policy="join")(text, "-3, 2").correct
    assert MathVerifier(box_policy="reject")(text, "2").status is Status.INVALID
    assert V(text, "-3").status is Status.INVALID  # the default: two different answers


@pytest.mark.parametrize(("completion", "reference"), [
    ("Subtracting gives 3 = 5, a contradiction, so there is no solution.", "\\emptyset"),
    ("No solution", "\\text{no solution}"),
    ("As x grows the quotient oscillates, so the limit does not exist.", "\\text{DNE}"),
])
def test_a_statement_that_there_is_no_answer_is_found_in_prose(completion: str, reference: str) -> None:
    assert V(completion, reference).correct
    assert V("There is no solution for x < 0; for x = 2 we get 7.", "7").correct  # a number after it wins
