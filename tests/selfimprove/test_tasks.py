import json

import pytest
import sympy

from selfimprove.config import load_config
from selfimprove.tasks import TaskError, load_task
from selfimprove.tasks.loaders import gold_answer
from tests.conftest import shared_data


def task(*overrides):
    return load_task(load_config(None, list(overrides)).task)


@pytest.mark.parametrize("ops, digits", [(["+"], 1), (["+", "-", "*"], 2), (["*"], 3)])
def test_arithmetic_splits_disjoint_seeded_and_correct(ops, digits):
    args = [f"task.ops={ops}", f"task.digits={digits}", "task.num_train=40", "task.num_test=20"]
    a, b = task(*args), task(*args)
    assert a == b
    assert not {p.id for p in a["train"]} & {p.id for p in a["test"]}
    for p in a["train"] + a["test"]:
        expr = p.prompt.removeprefix("What is ").rstrip("?")
        assert int(p.reference) == sympy.sympify(expr)
        assert all(len(tok) <= digits for tok in expr.split()[::2])
    other = task(*args, "task.seed=7")
    assert [p.id for p in other["test"]] != [p.id for p in a["test"]]


def test_test_split_independent_of_train_size():
    small = task("task.num_train=5", "task.num_test=10", "task.digits=2")
    big = task("task.num_train=50", "task.num_test=10", "task.digits=2")
    assert small["test"] == big["test"]


def test_small_space_is_capped_not_duplicated():
    t = task("task.num_train=500", "task.num_test=30")
    ids = [p.id for p in t["train"] + t["test"]]
    assert len(ids) == len(set(ids)) == 55  # 1-digit facts up to commutativity (5 + 8 is 8 + 5)
    assert len(t["test"]) == 30


def test_equations_have_the_stated_solution():
    t = task("task.name=equations", "task.digits=2", "task.num_test=15")
    x = sympy.Symbol("x")
    for p in t["test"]:
        lhs, rhs = p.prompt.removeprefix("Solve for x: ").split("=")
        assert sympy.solve(sympy.sympify(lhs.replace("x", "*x").lstrip("*").replace("-*x", "-x")) - sympy.sympify(rhs), x) == [int(p.reference)]


def test_bad_task_names_and_ops():
    with pytest.raises(TaskError, match="did you mean 'arithmetic'"):
        task("task.name=arithmatic")
    with pytest.raises(TaskError, match="unknown operator"):
        task("task.ops=['/']")


@pytest.mark.parametrize("raw, fmt, want", [
    ("She has 3.\n#### 1,000", "gsm8k", "1000"),
    ("so \\boxed{\\frac{1}{2}} hence \\boxed{\\frac{3}{4}}", "boxed", "\\frac{3}{4}"),
    ("42", "auto", "42"),
    ("x = \\boxed{{1,2}}", "auto", "{1,2}"),
])
def test_gold_answer_formats(raw, fmt, want):
    assert gold_answer(raw, fmt) == want


def test_gold_answer_missing_marker_is_clear():
    with pytest.raises(TaskError, match="answer_format"):
        gold_answer("no marker here", "gsm8k")


def test_jsonl_and_parquet_loaders_with_column_mapping(tmp_path):
    import datasets

    rows = [{"problem": f"What is {i}+1?", "solution": f"\\boxed{{{i + 1}}}", "level": i} for i in range(5)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "test.parquet"))
    (tmp_path / "test.jsonl").write_text((tmp_path / "train.jsonl").read_text())
    mapping = ["task.question_column=problem", "task.answer_column=solution", f"task.path={tmp_path}"]
    t = task("task.name=jsonl", *mapping)
    assert [p.reference for p in t["train"]] == ["1", "2", "3", "4", "5"]
    assert t["train"][0].fields == {"level": 0}
    t = task("task.name=parquet", *mapping, "task.train_split=test")
    assert t["test"][2].prompt == "What is 2+1?"


def test_missing_column_names_the_fix(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"q": "1+1", "a": "2"}\n')
    with pytest.raises(TaskError, match=r"missing column\(s\) \['question', 'answer'\].*task.question_column"):
        task("task.name=jsonl", f"task.path={tmp_path / 'd.jsonl'}")


def test_gsm8k_from_shared_data():
    path = shared_data("gsm8k")
    t = task("task.name=gsm8k", f"task.path={path}")
    assert len(t["train"]) == 7473 and len(t["test"]) == 1319
    assert t["test"][0].reference == "18"
    assert all("####" not in p.reference and "," not in p.reference for p in t["test"])


def test_subtraction_space_is_counted_after_the_operand_swap():
    t = task("task.ops=['-']", "task.num_train=100", "task.num_test=10")  # only 55 distinct problems
    assert len(t["train"]) + len(t["test"]) == 55
