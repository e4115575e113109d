"""Code task loaders and the procedural family; solutions are checked in the real sandbox."""

from __future__ import annotations

import json
import warnings

import pytest

from selfimprove.tasks import code
from selfimprove.tasks.base import TaskError
from verifiers.code import CodeVerifier


@pytest.fixture(scope="module")
def verifier():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # machines without bubblewrap run the weaker level here
        v = CodeVerifier(workers=2, allow_weaker_isolation=True)
        yield v
    v.close()


def test_procedural_splits_are_disjoint_deterministic_and_independent_of_n():
    train = code.generate_code_tasks(1000, seed=0, split="train")
    test = code.generate_code_tasks(1000, seed=0, split="test")
    assert len(train) > 100 and len(test) > 20
    assert not {p.id for p in train} & {p.id for p in test}
    assert [p.id for p in code.generate_code_tasks(5, seed=0, split="test")] == [p.id for p in test[:5]]
    again = code.generate_code_tasks(5, seed=0, split="test")
    assert [p.reference for p in again] == [p.reference for p in test[:5]]
    other_seed = code.generate_code_tasks(len(test), seed=1, split="test")
    assert {p.id for p in other_seed} == {p.id for p in test}  # same problems, other order/tests
    assert [p.reference for p in other_seed] != [p.reference for p in test]


def test_procedural_problem_shape():
    problem = code.generate_code_tasks(1, seed=3, split="train")[0]
    name = problem.fields["entry_point"]
    assert problem.task == "code" and problem.id == f"code/{name}"
    assert f"`{name}(" in problem.prompt and "```python" in problem.prompt
    assert problem.reference.count("assert ") == code.TESTS_PER_PROBLEM


def test_procedural_canonical_solutions_pass_and_wrong_ones_fail(verifier):
    problems = code.generate_code_tasks(1000, seed=0, split="test")
    for problem in problems:
        good = verifier(f"```python\n{code.canonical_solution(problem)}```", problem.reference, **problem.fields)
        assert good.correct, (problem.id, good.feedback)
    bad = [verifier(f"def {p.fields['entry_point']}(*args):\n    return None\n", p.reference, **p.fields)
           for p in problems[:10]]
    assert not any(v.correct for v in bad)


def test_bad_split_and_n():
    with pytest.raises(TaskError, match="split"):
        code.generate_code_tasks(1, 0, "validation")
    with pytest.raises(TaskError, match="n must be"):
        code.generate_code_tasks(-1, 0, "train")


def test_humaneval_loader(verifier):
    problems = code.load_humaneval()
    assert len(problems) == 164
    first = problems[0]
    assert first.id == "HumanEval/0" and first.task == "humaneval"
    assert first.fields["entry_point"] == "has_close_elements"
    assert "def check(candidate)" in first.reference
    # A completion that writes only the function, without the prompt's imports, still works:
    # the prelude (the prompt) supplies `from typing import List`.
    body = ("def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
            "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n")
    assert verifier(body, first.reference, **first.fields).correct


def test_mbpp_loader(tmp_path, verifier):
    rows = [
        {"task_id": 2, "text": "Write a function to find the shared elements of two lists.",
         "code": "def similar_elements(a, b):\n    return tuple(set(a) & set(b))",
         "test_list": ["assert set(similar_elements((3, 4, 5, 6), (5, 7, 4, 10))) == set((4, 5))",
                       "assert set(similar_elements((1, 2, 3, 4), (5, 4, 3, 7))) == set((3, 4))"],
         "test_setup_code": "", "challenge_test_list": []},
        {"task_id": 3, "prompt": "Write a python function to identify non-prime numbers.",
         "code": "def is_not_prime(n):\n    return n < 2 or any(n % i == 0 for i in range(2, int(n**0.5) + 1))",
         "test_list": ["assert is_not_prime(2) == False", "assert is_not_prime(10) == True"],
         "test_setup_code": "import math"},
    ]
    path = tmp_path / "mbpp.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    problems = code.load_mbpp_jsonl(str(path))
    assert [p.id for p in problems] == ["mbpp/2", "mbpp/3"]
    assert rows[0]["test_list"][0] in problems[0].prompt
    assert problems[1].reference.startswith("import math\n")
    for problem, row in zip(problems, rows):
        assert verifier(row["code"], problem.reference, **problem.fields).correct
        assert not verifier(row["code"].replace("return", "return not"), problem.reference).correct


def test_mbpp_loader_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"task_id": 1, "text": "x"}) + "\n")
    with pytest.raises(TaskError, match=r"line 1.*test_list"):
        code.load_mbpp_jsonl(str(path))
    with pytest.raises(TaskError, match="not found"):
        code.load_mbpp_jsonl(str(tmp_path / "missing.jsonl"))
