"""rft selection on programs: dedupe by normalised code (AST), prose answers by text as before;
refinement of a program asks for a corrected function, not a \\boxed{} answer."""

from __future__ import annotations

import dataclasses

from selfimprove.train.refine import REVISE_PROGRAM_TEMPLATE, REVISE_TEMPLATE, revision_request
from selfimprove.train.selection import dedupe_key, is_program, program_key, select
from tests.support import trace
from verifiers.base import Verification

COUNT = "def count_gt(nums: list[int]) -> int:\n    return sum(1 for x in nums if x > 3)\n"
SAME = [
    "```python\n" + COUNT + "```\nThis counts the numbers above 3.",  # other explanation
    "Here you go:\n```python\ndef count_gt(xs):\n    # count them\n    return sum(1 for  n in xs if n>3)\n```",
    '```py\ndef count_gt(values):\n    """How many are above 3."""\n    return sum(1 for v in values if v > 3)\n```',
]
DIFFERENT = [
    "```python\ndef count_gt(nums):\n    return sum(x for x in nums if x > 3)\n```",  # sums, not counts
    "```python\ndef count_gt(nums):\n    return len([x for x in nums if x > 3])\n```",  # same result, other program
]


def code_trace(text: str, index: int = 0, ok: bool = True, *, task: str = "code"):
    t = dataclasses.replace(trace("code/count_gt", text, ok, index=index), task=task,
                            fields={"entry_point": "count_gt"})
    return t


def test_program_key_ignores_form_and_local_names_not_logic():
    keys = {program_key(COUNT)} | {program_key(c.split("```")[1].split("\n", 1)[1]) for c in SAME}
    assert len(keys) == 1
    assert program_key("def f(x):\n    return x +") is None  # does not parse
    assert program_key("def f(x):\n    y = x\n    return y") == program_key("def f(a):\n    b = a\n    return b")
    assert program_key("def f(x):\n    return len(x)") != program_key("def f(x):\n    return sum(x)")  # builtins stay


def test_code_dedupe_keeps_one_per_program():
    traces = [code_trace(text, i) for i, text in enumerate(SAME + DIFFERENT)]
    kept = select(traces, cap=10)
    assert sum(kept[:len(SAME)]) == 1 and all(kept[len(SAME):])
    # against programs kept in earlier rounds too (rft's accumulate)
    seen = {dedupe_key(code_trace(SAME[0]))}
    assert sum(select(traces, cap=10, seen=seen)) == len(DIFFERENT)


def test_programs_are_recognised_by_task_or_verifier():
    assert is_program(code_trace(COUNT)) and is_program(code_trace(COUNT, task="humaneval"))
    jsonl = code_trace(COUNT, task="jsonl")
    assert not is_program(jsonl)
    jsonl.verifier = "code@1-all_pass"
    assert is_program(jsonl)
    # unparseable programs fall back to the text, so they still dedupe by text
    broken = [code_trace("```python\ndef count_gt(x):\n    return (\n```", i) for i in range(2)]
    assert dedupe_key(broken[0]) == dedupe_key(broken[1])


def test_prose_answers_dedupe_by_text_as_before():
    a, b = trace("p", "x = 1\nthe answer is 4", True), trace("p", "y = 1\nthe answer is 4", True)
    assert dedupe_key(a) != dedupe_key(b)  # not read as programs: a math task
    assert dedupe_key(a) == ("p", "\x1e" + "x = 1 the answer is 4")


def test_refinement_of_a_program_asks_for_a_function():
    attempt = code_trace(DIFFERENT[0], ok=False)
    attempt.verification = Verification(0.5, "wrong", "...", "3/6 tests passed. First failing test:\n"
                                        "assert count_gt([4, 5]) == 2\nAssertionError: left side is 9")
    request = revision_request(attempt)
    assert request.messages[-1]["content"] == REVISE_PROGRAM_TEMPLATE.format(feedback=attempt.verification.feedback)
    assert "```python" in request.messages[-1]["content"] and "boxed" not in request.messages[-1]["content"]
    math_attempt = trace("p", "5", False)
    assert revision_request(math_attempt).messages[-1]["content"] == REVISE_TEMPLATE.format(feedback="wrong")
