"""The code family's dev split (selfimprove/tasks/code_dev.py): the benchmark's splits do not move,
dev shares nothing with the test splits, and a tuning run never trains on dev."""

from __future__ import annotations

import hashlib
import json

import pytest

from selfimprove.config import ConfigError, load_config
from selfimprove.tasks import code, code_dev, load_task
from selfimprove.tasks.code_templates import HELD_OUT_TEMPLATES, TEMPLATES

ALL = 10_000  # more than any split holds: the whole split
#: sha256 of every split's (id, prompt, reference, fields), computed at 4997b76, before the dev split existed
BENCHMARK_SPLITS = {
    (0, "train"): (487, "85226107c5e1df4df27badf7c89faddf733b819c8a1deedc5daf44076f031818"),
    (0, "parametric"): (119, "c4087b4e78ed11e9af487379261c5d2c78d5906786b75ff5ca4a3deb329d6c55"),
    (0, "template"): (197, "6569108c81f4d0433ec7c1046f449c036e3bbc9a951e5b1a0a10971232d70f03"),
    (1234, "train"): (487, "1e98a0ca240bb1a155f5fb4dcd3f27b0410fdbb726280a1eb185514e3356177c"),
    (1234, "parametric"): (119, "50b4be4c58a99e9b8b3c469f5990cc0a47dbe378a118066e8b593ace42362df1"),
    (1234, "template"): (197, "7d49f9376d73a24c7307199eac2cdc2eec0e9823c00c40c8111cb338d8333319"),
}
TEST_SPLITS = ("parametric", "template")


def _fingerprint(problems) -> tuple[int, str]:
    rows = [[p.id, p.prompt, p.reference, p.fields] for p in problems]
    return len(rows), hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _solution(problem):
    namespace: dict = {}
    exec(code.canonical_solution(problem), namespace)  # trusted: our own reference solutions
    return namespace[problem.fields["entry_point"]]


def _passers(problems, solutions) -> list[tuple[str, str]]:
    """(solution's problem id, problem id) for every solution that passes a problem's tests under its name."""
    out = []
    for problem in problems:
        tests = compile(problem.reference, problem.id, "exec")
        for rival_id, function in solutions:
            try:
                exec(tests, {problem.fields["entry_point"]: function})
            except Exception:  # noqa: BLE001 - a wrong program fails an assert or raises
                continue
            out.append((rival_id, problem.id))
    return out


@pytest.fixture(scope="module")
def tuning():
    """A tuning run's splits (seed 0): its train split, the dev splits and the test splits."""
    return {"train": code.generate_code_tasks(ALL, 0, "train", dev=True),
            **{s: code.generate_code_tasks(ALL, 0, s) for s in code.DEV_SPLITS + TEST_SPLITS}}


@pytest.mark.parametrize("seed", [0, 1234])
def test_the_benchmark_splits_are_as_before_the_dev_split(seed):
    for split in code.SPLITS:
        assert _fingerprint(code.generate_code_tasks(ALL, seed, split)) == BENCHMARK_SPLITS[seed, split], split
    for split in TEST_SPLITS:  # a tuning run's test splits are the benchmark's, problem for problem
        assert _fingerprint(code.generate_code_tasks(ALL, seed, split, dev=True)) == BENCHMARK_SPLITS[seed, split]


def test_dev_is_carved_from_the_benchmark_train_split_and_shares_nothing_with_the_tests(tuning):
    names = {s: {p.fields["entry_point"] for p in problems} for s, problems in tuning.items()}
    ids = {s: {p.id for p in problems} for s, problems in tuning.items()}
    splits = list(tuning)
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            assert not ids[a] & ids[b] and not names[a] & names[b], (a, b)
    bench_train = {p.id for p in code.generate_code_tasks(ALL, 0, "train")}
    dev_ids = ids["dev_parametric"] | ids["dev_template"]
    assert dev_ids | ids["train"] <= bench_train
    assert bench_train - dev_ids - ids["train"] == {f"code/{n}" for n in code_dev._twins()}
    templates = {s: {code.template_of(i) for i in ids[s]} for s in splits}
    assert templates["dev_template"] == code_dev.DEV_TEMPLATES
    assert not code_dev.DEV_TEMPLATES & HELD_OUT_TEMPLATES and code_dev.DEV_TEMPLATES <= {t.name for t in TEMPLATES}
    assert not templates["train"] & code_dev.DEV_TEMPLATES  # a tuning run trains on no dev-template instance
    assert templates["dev_parametric"] <= templates["train"]
    # the sizes the docs quote
    assert [len(tuning[s]) for s in ("train", "dev_parametric", "dev_template")] == [289, 71, 121]
    assert [len(templates[s]) for s in ("train", "dev_parametric", "dev_template")] == [20, 20, 5]


def test_no_twin_across_dev_train_and_test(tuning):
    """Leakage by function: no tuning-train or test program passes a dev problem, and no dev program
    passes a test problem (renamed to the problem's entry point)."""
    solutions = {s: [(p.id, _solution(p)) for p in problems] for s, problems in tuning.items()}
    dev = tuning["dev_parametric"] + tuning["dev_template"]
    tests = tuning["parametric"] + tuning["template"]
    assert not _passers(dev, solutions["train"] + solutions["parametric"] + solutions["template"])
    assert not _passers(tests, solutions["dev_parametric"] + solutions["dev_template"])
    assert all(p.reference.count("assert ") == code.TESTS_PER_PROBLEM for p in dev)


def test_dev_splits_do_not_depend_on_the_seed():
    for split in code.DEV_SPLITS:
        first = code.generate_code_tasks(ALL, 0, split)
        assert {p.id for p in code.generate_code_tasks(ALL, 1, split)} == {p.id for p in first}
        assert [p.id for p in code.generate_code_tasks(5, 0, split)] == [p.id for p in first[:5]]
    assert len({code.template_of(p.id) for p in code.generate_code_tasks(5, 0, "dev_template")}) == 5  # stratified


def test_a_tuning_run_loads_train_without_dev_and_scores_on_dev():
    cfg = load_config(None, ["task.name=code", "task.dev_split=true", "task.held_out=dev_template",
                             f"task.num_train={ALL}", "task.num_test=7"])
    splits = load_task(cfg.task)
    tuning_train = code.generate_code_tasks(ALL, cfg.task.seed, "train", dev=True)
    assert {p.id for p in splits["train"]} == {p.id for p in tuning_train}
    assert not {code.template_of(p.id) for p in splits["train"]} & code_dev.DEV_TEMPLATES
    assert [p.id for p in splits["test"]] == [p.id for p in code.generate_code_tasks(7, cfg.task.seed, "dev_template")]


@pytest.mark.parametrize("sets, fragment", [
    (["task.name=code", "task.held_out=dev_parametric"], "needs dev_split: true"),
    (["task.name=arithmetic", "task.dev_split=true"], "dev_split is an option of task.name 'code'"),
])
def test_a_dev_split_without_its_carve_out_is_refused(sets, fragment):
    with pytest.raises(ConfigError, match=fragment) as err:
        load_config(None, sets)
    assert "'task'" in str(err.value)
    with pytest.raises(code.TaskError, match="task.dev_split"):
        code.held_out("dev_template", 3, 0)
