"""Self-refinement: a failed attempt, the verifier's feedback, and one revision.

The revision is sampled from the conversation ``user: problem / assistant: attempt /
user: feedback + "revise"``; it carries the earlier attempt in ``Trace.turns``. Revisions that
verify are kept for training (see :mod:`selfimprove.train.strategies.rft` for the two ways
they are trained on).

Limits: one revision turn; the revision prompt is fixed (:data:`REVISE_TEMPLATE`, or for programs
:data:`REVISE_PROGRAM_TEMPLATE`); the feedback is whatever the verifier wrote (the math verifier
says what answer it read, never the reference; the code verifier shows the first failing assert
and its error, e.g. ``left side is 5, right side is 7``, so one test of the problem is revealed).
"""

from __future__ import annotations

from typing import Sequence

from rollouts.engine import RolloutRequest
from rollouts.trace import Trace, Turn
from selfimprove.metrics import group_by_problem
from selfimprove.train.selection import is_program

REVISE_TEMPLATE = (
    "A checker graded your answer: {feedback}\n"
    "Find the mistake, then give the corrected final answer in \\boxed{{}}."
)
#: For a program (:func:`~selfimprove.train.selection.is_program`): the sandbox's test report.
REVISE_PROGRAM_TEMPLATE = (
    "The tests of your code ran: {feedback}\n"
    "Find the mistake, then give the corrected complete function in a ```python code block."
)


def failed_attempts(traces: Sequence[Trace], limit: int | None) -> list[Trace]:
    """One failed attempt per problem that has one (the first), in first-seen order."""
    out = []
    for group in group_by_problem(traces).values():
        wrong = [t for t in group if not t.verification.correct]
        if wrong:
            out.append(wrong[0])
    return out if limit is None else out[:limit]


def revision_request(attempt: Trace) -> RolloutRequest:
    feedback = attempt.verification.feedback or f"the answer is {attempt.verification.status.value}"
    template = REVISE_PROGRAM_TEMPLATE if is_program(attempt) else REVISE_TEMPLATE
    messages = list(attempt.messages) + [
        {"role": "assistant", "content": attempt.completion},
        {"role": "user", "content": template.format(feedback=feedback)},
    ]
    turn = Turn(completion=attempt.completion, feedback=feedback, status=attempt.verification.status.value)
    return RolloutRequest(problem_id=attempt.problem_id, messages=messages, reference=attempt.reference,
                          task=attempt.task, fields=dict(attempt.fields), turns=list(attempt.turns) + [turn])
