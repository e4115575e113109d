"""benchmarks/code_self_improve.py and the harness it specifies (self_improve_bench/by_split.py):
the plan of training runs and the summary (fast; the whole run is exercised by ``--smoke`` by
hand, it trains for minutes)."""

import argparse

import numpy as np
import pytest

from benchmarks import code_self_improve as bench
from benchmarks.self_improve_bench import by_split


def _args(**kw):
    return argparse.Namespace(**{"arms": ["ours", "random", "trl_grpo"], "seed": 0, "random_seeds": None, **kw})


def test_the_random_control_runs_once_per_seed():
    assert bench.planned_runs(_args()) == [("ours", "ours", None), ("random", "random", None),
                                           ("trl_grpo", "trl_grpo", None)]
    assert bench.planned_runs(_args(random_seeds=[0, 1, 2]))[1:4] == [
        ("random@0", "random", 0), ("random@1", "random", 1), ("random@2", "random", 2)]


def _evals(correct: dict[str, list[float]], ids: list[str]) -> dict:
    return {label: {"parametric": {"greedy": {"problems": {i: {"correct": c} for i, c in zip(ids, values)}}}}
            for label, values in correct.items()}


def test_summary_pools_seeds_and_resamples_templates():
    from selfimprove.tasks.code import generate_code_tasks, template_of

    ids = [p.id for p in generate_code_tasks(40, 1234, "parametric")]
    templates = [template_of(i) for i in ids]
    first, last = templates[0], templates[-1]
    solved_by = {  # each seed of the control solves one template's instances, or none
        "random@0": [float(t == first) for t in templates],
        "random@1": [0.0] * len(ids),
        "random@2": [float(t == last) for t in templates],
    }
    results = {"evals": _evals({"base": [0.0] * len(ids), "ours": [1.0] * len(ids), **solved_by}, ids),
               "data": {"parametric": ids}}
    s = bench.summarize(results)
    gains = s["gains"]["parametric/greedy"]
    assert s["runs"]["random"] == ["random@0", "random@1", "random@2"]
    assert gains["random"]["estimate"] == pytest.approx(np.mean([np.mean(v) for v in solved_by.values()]))
    assert gains["random"]["runs"] == 3 and gains["ours"]["runs"] == 1
    assert gains["random@0"]["clusters"] == len(set(templates)) < len(ids)  # templates are the units
    assert gains["random"]["low"] <= 0.0 < gains["random"]["high"]  # one seed of three gained nothing
    diff = s["differences"]["parametric/greedy"]["ours - random"]
    assert diff["estimate"] == pytest.approx(1 - gains["random"]["estimate"])
    assert diff["low"] <= diff["estimate"] <= diff["high"]
    assert set(s["differences"]["parametric/greedy"]) == {"ours - random"}  # seeds are not compared one by one


def test_adding_humaneval_keeps_its_note_and_the_first_stop_notice(tmp_path, monkeypatch):
    import json

    ids = ["p-0", "p-1"]
    he = ["HumanEval/0", "HumanEval/1"]
    path = tmp_path / "record.json"
    noticed = {"noticed_at": "earlier", "loadavg": [0.0, 0.0, 0.0], "not_run": ["trl_grpo"]}
    path.write_text(json.dumps({"settings": {**vars(_args()), "out": str(tmp_path)}, "stopped_early": noticed,
                                "training": {"ours": {"checkpoint": str(tmp_path)}},
                                "evals": _evals({"base": [0.0, 1.0], "ours": [1.0, 1.0]}, ids),
                                "data": {"parametric": ids}}))
    scored = {"greedy": {"problems": {i: {"correct": 1.0} for i in he}, "truncated_fraction": 0.0}}
    monkeypatch.setattr(bench, "problem_sets", lambda args, cfg: ({"humaneval": [argparse.Namespace(id=i) for i in he]},
                                                                  [], []))
    monkeypatch.setattr(bench, "arm_config", lambda args, arm: None)
    monkeypatch.setattr(bench.child, "in_child", lambda fn, args, checkpoint, splits: {"humaneval": scored})
    monkeypatch.setattr(by_split, "write_summary", lambda results, path, save, spec: save())
    assert bench.add_humaneval(path) == 0
    record = json.loads(path.read_text())
    assert [a["what"] for a in record["added"]] == ["humaneval"]
    assert record["stopped_early"] == noticed  # a later resummary does not move when the stop was noticed
    assert record["data"]["humaneval"] == he and record["evals"]["ours"]["humaneval"] == scored
