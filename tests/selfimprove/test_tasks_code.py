"""Code task loaders and the procedural family: its three splits, tests that pin solutions down,
and solutions checked in the real sandbox."""

from __future__ import annotations

import json
import warnings

import pytest

from selfimprove.config import load_config
from selfimprove.tasks import code, code_templates, load_task
from selfimprove.tasks.base import TaskError
from selfimprove.tasks.code_templates import HELD_OUT_TEMPLATES, TEMPLATES
from verifiers.code import CodeVerifier


@pytest.fixture(scope="module")
def verifier():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # machines without bubblewrap run the weaker level here
        v = CodeVerifier(workers=2, allow_weaker_isolation=True)
        yield v
    v.close()


SEEDS = (0, 1, 1234)


def _splits(seed: int) -> dict[str, list]:
    return {split: code.generate_code_tasks(10_000, seed, split) for split in code.SPLITS}


def _run_asserts(source: str, problem) -> bool:
    """Our own trusted tests and candidate programs, checked in-process (the sandbox test is below)."""
    namespace: dict = {}
    exec(source, namespace)
    try:
        exec(problem.reference, namespace)
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize("seed", SEEDS)
def test_splits_share_no_instance_and_no_held_out_template(seed):
    splits = _splits(seed)
    ids = {split: {p.id for p in problems} for split, problems in splits.items()}
    names = {split: {code.template_of(i) for i in split_ids} for split, split_ids in ids.items()}
    for a, b in [("train", "parametric"), ("train", "template"), ("parametric", "template")]:
        assert not ids[a] & ids[b], (a, b)
    references = [p.reference for problems in splits.values() for p in problems]
    assert len(references) == len(set(references))  # no two problems share their tests
    # template split: whole templates, none trained on; parametric: trained templates only
    assert names["template"] == set(HELD_OUT_TEMPLATES)
    assert not names["template"] & (names["train"] | names["parametric"])
    assert names["parametric"] <= names["train"]
    assert len(splits["train"]) > 400 and len(splits["parametric"]) > 100 and len(splits["template"]) > 150
    assert len(names["parametric"]) >= 20  # the parametric split covers most trained templates


def test_splits_do_not_depend_on_n_or_seed_and_orders_are_stratified():
    full = {split: [p.id for p in problems] for split, problems in _splits(0).items()}
    for split in code.SPLITS:
        assert [p.id for p in code.generate_code_tasks(7, 0, split)] == full[split][:7]
        other = code.generate_code_tasks(10_000, 1, split)
        assert {p.id for p in other} == set(full[split])
        assert [p.reference for p in other] != [p.reference for p in code.generate_code_tasks(10_000, 0, split)]
    # the first problems of a split come from as many templates as they can
    first = [code.template_of(i) for i in full["parametric"][:20]]
    assert len(set(first)) == 20
    first = [code.template_of(i) for i in full["template"][:16]]
    assert len(set(first)) == len(HELD_OUT_TEMPLATES)


@pytest.mark.parametrize("seed", SEEDS)
def test_tests_pin_the_solution_down(seed):
    """A wrong program cannot pass by accident: a constant, the identity, and the neighbouring
    parameter's solution each fail at least one test of every problem; edge cases are tested."""
    for problems in _splits(seed).values():
        for problem in problems:
            name = problem.fields["entry_point"]
            template = next(t for t in TEMPLATES if t.name == code.template_of(problem.id))
            p = next(q for q in template.params if template.function(q) == name)
            assert problem.reference.count("assert ") == code.TESTS_PER_PROBLEM
            assert _run_asserts(code.canonical_solution(problem), problem), problem.id
            wrong = [f"def {name}(*args):\n    return args[0]\n", f"def {name}(*args):\n    return None\n"]
            for line in problem.reference.splitlines():  # a constant: each expected output in turn
                wrong.append(f"def {name}(*args):\n    return {line.rsplit(' == ', 1)[1]}\n")
            i = template.params.index(p)
            for q in template.params[max(0, i - 1):i + 2]:
                if q != p:
                    wrong.append(template.source(q).replace(template.function(q), name))
            for program in wrong:
                assert not _run_asserts(program, problem), (problem.id, program)
            for edge in template.edges:  # the edge cases are among the tests
                assert f"assert {name}({', '.join(map(repr, edge))}) == " in problem.reference


def test_procedural_problem_shape():
    problem = code.generate_code_tasks(1, seed=3, split="train")[0]
    name = problem.fields["entry_point"]
    assert problem.task == "code" and problem.id == f"code/{name}"
    assert f"`{name}(" in problem.prompt and "```python" in problem.prompt
    example = problem.prompt.split("For example, `", 1)[1].split("`", 1)[0]
    assert f"assert {example} == " in problem.reference  # the example shown is one of the tests


def test_canonical_solutions_pass_and_wrong_ones_fail_in_the_sandbox(verifier):
    problems = [p for split in ("parametric", "template") for p in code.generate_code_tasks(40, 0, split)]
    for problem in problems:
        good = verifier(f"```python\n{code.canonical_solution(problem)}```", problem.reference, **problem.fields)
        assert good.correct, (problem.id, good.feedback)
    bad = [verifier(f"def {p.fields['entry_point']}(*args):\n    return None\n", p.reference, **p.fields)
           for p in problems[:10]]
    assert not any(v.correct for v in bad)


def test_bad_split_and_n():
    with pytest.raises(TaskError, match="split"):
        code.generate_code_tasks(1, 0, "test")
    with pytest.raises(TaskError, match="n must be"):
        code.generate_code_tasks(-1, 0, "train")


@pytest.mark.parametrize("held_out", ["parametric", "template", "humaneval"])
def test_task_held_out_picks_the_test_set(held_out):
    cfg = load_config(None, ["task.name=code", f"task.held_out={held_out}", "task.num_train=30", "task.num_test=12"])
    splits = load_task(cfg.task)
    assert [p.id for p in splits["train"]] == [p.id for p in code.generate_code_tasks(30, cfg.task.seed, "train")]
    if held_out == "humaneval":
        assert len(splits["test"]) == 164 and splits["test"][0].id == "HumanEval/0"
    else:
        assert [p.id for p in splits["test"]] == [p.id for p in code.generate_code_tasks(12, cfg.task.seed, held_out)]


def test_mbpp_as_the_held_out_set_needs_a_path(tmp_path):
    with pytest.raises(TaskError, match="task.path"):
        load_task(load_config(None, ["task.name=code", "task.held_out=mbpp"]).task)
    row = {"task_id": 7, "text": "Write a function that doubles x.", "test_list": ["assert double(2) == 4"]}
    (tmp_path / "mbpp.jsonl").write_text(json.dumps(row) + "\n")
    splits = load_task(load_config(None, ["task.name=code", "task.held_out=mbpp", f"task.path={tmp_path / 'mbpp.jsonl'}",
                                          "task.num_train=5"]).task)
    assert [p.id for p in splits["test"]] == ["mbpp/7"] and len(splits["train"]) == 5


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


@pytest.mark.parametrize("seed", SEEDS)
def test_no_trained_program_solves_a_held_out_problem(seed):
    """Leakage by function, not by name: no train problem's solution, renamed to a held-out
    problem's entry point, passes that problem's tests. Before this check 36 of the 323 held-out
    problems were passed by some train program (``first_6`` by ``first_6_chars``, ``count_equal_to_14``
    by ``count_multiples_of_7``, ``contains_letter_x`` by ``count_letter_x`` since ``0 == False``)."""
    splits = _splits(seed)
    solutions = []
    for problem in splits["train"]:
        namespace: dict = {}
        exec(code.canonical_solution(problem), namespace)
        solutions.append((problem.id, namespace[problem.fields["entry_point"]]))
    leaks = []
    for held in splits["parametric"] + splits["template"]:
        tests = compile(held.reference, held.id, "exec")
        for train_id, function in solutions:
            try:
                exec(tests, {held.fields["entry_point"]: function})
            except Exception:  # noqa: BLE001 - a wrong program fails an assert or raises: not a leak
                continue
            leaks.append((train_id, held.id))
    assert not leaks


def test_same_programs_under_other_names_are_held_out_of_every_split():
    # each is a train program under another name (x[:n] on a list or a string, x * n on an int or a string)
    assert code._twins() == {"first_4_chars", "first_6", "first_8", "last_1_chars",
                             "multiply_by_4", "multiply_by_6", "multiply_by_8"}
    everywhere = {p.fields["entry_point"] for problems in _splits(0).values() for p in problems}
    assert not everywhere & code._twins()
    assert len(everywhere) + len(code._twins()) == sum(len(t.params) for t in TEMPLATES)


@pytest.mark.parametrize("change, error", [
    ({"draw": "gauss 3"}, r"draw 'gauss 3': 'gauss' is not in DRAWS \(int, "),
    ({"params": "1-40"}, r"params '1-40': write FIRST\.\.LAST"),
    ({"edges": "floats"}, r"edges 'floats' is not in EDGES \(ints, "),
    ({"held_out": True}, r"has the keys \[.*'held_out'.*\]; a template has exactly name, "),
])
def test_a_template_entry_that_cannot_be_read_is_named_with_the_fix(change, error):
    row = {"name": "add_{p}", "signature": "(x: int) -> int", "statement": "returns `x` plus {p}",
           "solution": "return x + {p}", "params": "1..40", "draw": "int", "edges": "ints"}
    read = code_templates._template(row)
    assert read.source(3) == "def add_3(x: int) -> int:\n    return x + 3\n"
    assert (read.params[-1], read.edges) == (40, ((0,), (-7,)))
    with pytest.raises(ValueError, match=r"code_templates\.yaml: template 'add_\{p\}': " + error):
        code_templates._template(row | change)
