"""benchmarks/tune_code.py: every run trains without the dev split and is scored on it; the documented
candidates load; the summary resamples templates (fast); the whole script in --smoke mode (slow)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import tune_code as tune
from benchmarks.self_improve_bench import record

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED = dict(tune.tuning.parse_variant(v) for v in re.findall(r"--variant '([^']+)'", tune.__doc__))


def _settings(**kw) -> dict:
    args = tune.parse_args([f"--{k.replace('_', '-')}={v}" for k, v in kw.items()])
    return {**{k: getattr(args, k) for k in tune.SETTINGS}, "loop_sets": []}


def _config(tmp_path, name: str, overrides: list[str], **settings):
    return tune.bench.arm_config(tune.bench_args(str(tmp_path), _settings(**settings), overrides), name)


def test_the_documented_candidates_load_each_as_one_change_from_ours(tmp_path):
    assert set(DOCUMENTED) == {"lr2e5", "epochs1", "cap1", "rft_grpo"}
    ours = _config(tmp_path, "ours", [])
    assert (ours.train.rft.learning_rate, ours.train.rft.epochs, ours.train.rft.per_prompt_cap) == (5e-5, 2, 4)
    assert _config(tmp_path, "lr2e5", DOCUMENTED["lr2e5"]).train.rft.learning_rate == 2e-5
    assert _config(tmp_path, "epochs1", DOCUMENTED["epochs1"]).train.rft.epochs == 1
    assert _config(tmp_path, "cap1", DOCUMENTED["cap1"]).train.rft.per_prompt_cap == 1
    grpo = _config(tmp_path, "rft_grpo", DOCUMENTED["rft_grpo"])
    assert [grpo.train.strategy_for(r) for r in (1, 2, 3)] == ["rft", "grpo", "grpo"]
    assert grpo.verifier.options["score"] == "fraction" and grpo.train.grpo.learning_rate == 1e-5
    assert grpo.verifier.options["timeout_s"] == ours.verifier.options["timeout_s"]  # the config's options kept
    for name, cfg in [("ours", ours), ("rft_grpo", grpo)]:
        assert (cfg.task.dev_split, cfg.task.held_out, cfg.run.name) == (True, "dev_parametric", name)
        assert cfg.run_dir == tmp_path / "runs" / name


def test_a_tuning_run_trains_on_no_dev_problem_and_the_record_says_so(tmp_path, monkeypatch):
    from selfimprove.tasks import load_task
    from selfimprove.tasks.code import template_of
    from selfimprove.tasks.code_dev import DEV_TEMPLATES

    monkeypatch.setattr(record, "pip_freeze", lambda: {"source": "test", "packages": []})
    fresh = tune.fresh(str(tmp_path), _settings())
    assert [len(fresh["data"][s]) for s in ("dev_parametric", "dev_template")] == [71, 121]
    assert len(fresh["train_ids"]) == 289 and not {template_of(i) for i in fresh["train_ids"]} & DEV_TEMPLATES
    dev = set(fresh["data"]["dev_parametric"]) | set(fresh["data"]["dev_template"])
    train = {p.id for p in load_task(_config(tmp_path, "cap1", DOCUMENTED["cap1"]).task)["train"]}
    assert train == set(fresh["train_ids"]) and not train & dev
    assert [len(v) for v in tune.fresh(str(tmp_path), _settings(dev_problems=5))["data"].values()] == [5, 5]


def test_smoke_defaults_and_reserved_names():
    args = tune.parse_args(["--smoke", "--samples", "3"])
    assert (args.model, args.budget_minutes, args.dev_problems, args.samples) == ("tiny-random", 1.5, 4, 3)
    plain = tune.parse_args([])
    assert (plain.model, plain.dev_problems, plain.baselines, plain.eval_tokens) == (None, None, ["ours"], 160)
    with pytest.raises(SystemExit, match="names must be new"):
        tune.main(["--variant", "random=train.rft.epochs=1", "--out", "/nonexistent/never-made"])


def test_scoring_reads_every_setting_it_needs(tmp_path):
    """The scoring phase on the tiny random model, one problem per dev split and a few tokens (no training)."""
    settings = _settings(model="tiny-random", dev_problems=1, samples=2, eval_tokens=8, threads=1)
    evals = tune.score(str(tmp_path), settings, None)
    assert {s: set(m) for s, m in evals.items()} == {s: {"greedy", "sampled"} for s in ("dev_parametric",
                                                                                       "dev_template")}
    assert evals["dev_template"]["sampled"]["sampling"]["num_samples"] == 2
    assert [len(m["greedy"]["problems"]) for m in evals.values()] == [1, 1]


def _fake(tmp_path) -> dict:
    """A record of three templates' worth of dev problems per split: base, ours and one variant."""
    from selfimprove.tasks.code import template_of

    data = {s: ids[:12] for s, ids in tune.fresh(str(tmp_path), _settings(dev_problems=12))["data"].items()}

    def evals(correct) -> dict:  # correct(split, template) -> 0/1 for every problem of that template
        return {s: {m: {"problems": {i: {"correct": float(correct(s, template_of(i)))} for i in ids},
                        "truncated_fraction": 0.0} for m in ("greedy", "sampled")} for s, ids in data.items()}

    first = {s: template_of(ids[0]) for s, ids in data.items()}
    run = {"overrides": [], "training": {"rounds": [{"counted": True}], "train_min": 24.0, "steps": 9}}
    lower = ["train.rft.learning_rate=2e-5"]
    return {"settings": _settings(), "baselines": ["ours"], "data": data, "base": evals(lambda s, t: False),
            "variants": {"ours": {**run, "evals": evals(lambda s, t: t == first[s])},
                         "lr": {**run, "overrides": lower, "evals": evals(lambda s, t: True)}}}


def test_the_summary_resamples_templates_and_the_table_compares_with_the_baselines(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "pip_freeze", lambda: {"source": "test", "packages": []})
    results = _fake(tmp_path)
    summary = tune.summarize(results)
    gain = summary["gains"]["dev_template/greedy"]["lr"]
    assert gain["estimate"] == 1.0 and gain["clusters"] == 5  # 12 problems, 5 templates: templates are the units
    diff = tune._difference(summary["differences"]["dev_template/greedy"], "lr", "ours")
    assert diff["estimate"] == pytest.approx(1 - 3 / 12) and diff["low"] <= diff["estimate"] <= diff["high"]
    text = tune.table(results)
    assert "dev_template: 12 problems of 5 templates" in text and "(the benchmark's ours arm)" in text
    assert text.count("| lr | ") == 5 and "`train.rft.learning_rate=2e-5`" in text  # runs, then one row per split/mode


@pytest.mark.slow
def test_smoke_run_writes_the_record_and_resumes(tmp_path):
    out = tmp_path / "tune"
    cmd = [sys.executable, str(REPO / "benchmarks" / "tune_code.py"), "--smoke", "--out", str(out), "--threads", "1",
           "--variant", "lr=train.rft.learning_rate=1e-5"]
    subprocess.run(cmd, check=True, cwd=REPO, timeout=1800)
    results = json.loads((out / "results.json").read_text())
    assert list(results["variants"]) == ["ours", "lr"] and results["finished"]
    for evals in [results["base"], *(v["evals"] for v in results["variants"].values())]:
        assert {s: set(m) for s, m in evals.items()} == {s: {"greedy", "sampled"} for s in ("dev_parametric",
                                                                                           "dev_template")}
    assert results["variants"]["lr"]["training"]["config"]["task"]["dev_split"]
    assert "| lr | " in (out / "table.md").read_text()
    subprocess.run([*cmd, "--resume"], check=True, cwd=REPO, timeout=600)  # nothing left to run: re-renders
    assert json.loads((out / "results.json").read_text())["variants"] == results["variants"]
