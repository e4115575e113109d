"""The benchmark's scorer choice: which phases run in the vLLM interpreter, and the parity record."""

from __future__ import annotations

import sys

import pytest

from benchmarks.self_improve_bench import scorer


def test_with_vllm_scoring_each_arm_is_trained_here_then_scored_there(tmp_path, monkeypatch):
    hf_plan = ["calibrate", "eval/base", "sweep/lr=1e-05", "arm/ours", "arm/ours@1"]
    assert scorer.plan({"scorer": "hf"}, hf_plan) == hf_plan
    plan = scorer.plan({"scorer": "vllm"}, hf_plan)
    assert plan == ["calibrate", "parity/hf", "parity/vllm", "eval/base", "sweep/lr=1e-05",
                    "train/ours", "arm/ours", "train/ours@1", "arm/ours@1"]
    monkeypatch.setenv("SELFIMPROVE_VLLM_VENV", str(tmp_path / "venv"))
    vllm = str(tmp_path / "venv" / "bin" / "python")
    where = {phase: scorer.python_for(phase, "vllm") for phase in plan}
    assert [p for p, py in where.items() if py == vllm] == ["calibrate", "parity/vllm", "eval/base", "arm/ours",
                                                            "arm/ours@1"]
    assert {py for p, py in where.items() if py != vllm} == {sys.executable}  # training and sweeps stay here
    assert all(scorer.python_for(p, "hf") == sys.executable for p in plan)


def test_auto_picks_vllm_only_where_its_environment_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFIMPROVE_VLLM_VENV", str(tmp_path / "venv"))
    assert scorer.resolve("auto") == "hf"
    with pytest.raises(SystemExit, match="setup_vllm.sh"):
        scorer.resolve("vllm")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").touch()
    assert scorer.resolve("auto") == "vllm" and scorer.resolve("hf") == "hf"


def test_parity_counts_identical_answers_and_names_the_others():
    hf = {"a": {"ids": [1, 2, 3], "correct": True}, "b": {"ids": [4], "correct": False}}
    vllm = {"a": {"ids": [1, 2, 3], "correct": True}, "b": {"ids": [5], "correct": True}}
    entry = scorer.parity_entry(hf, vllm)
    assert (entry["identical"], entry["differing"], entry["share_identical"]) == (1, ["b"], 0.5)
    assert entry["pass@1"] == {"hf": 0.5, "vllm": 1.0}
    line = scorer.describe({"settings": {"scorer": "vllm"}, "phases": {"parity": entry}})
    assert "1 of 2 identical" in line and "differing: b" in line
    with pytest.raises(RuntimeError, match="different problems"):
        scorer.parity_entry(hf, {"a": vllm["a"]})


@pytest.mark.slow
@pytest.mark.skipif(not scorer.vllm_python().exists(), reason="no CPU vLLM environment (bash launch/setup_vllm.sh)")
def test_a_smoke_run_scored_by_vllm_checks_parity_and_records_the_scorer(tmp_path):
    import json
    import subprocess

    out = tmp_path / "bench"  # the built-in model: vLLM's CPU attention has no kernel for tiny-random's head size
    subprocess.run([sys.executable, str(scorer.REPO / "benchmarks" / "self_improve.py"), "--smoke", "--out", str(out),
                    "--budget-minutes", "0.5", "--sweep-lrs", "1e-5", "--threads", "1", "--arms", "ours_grpo",
                    "--scorer", "vllm"], check=True, cwd=scorer.REPO, timeout=1800)
    results = json.loads((out / "results.json").read_text())
    assert results["phases"]["parity"]["problems"] == len(results["data"]["problems"]["val"])
    assert results["phases"]["eval/ours_grpo"]["scorer"] == results["phases"]["eval/base"]["scorer"] == "vllm"
    assert results["phases"]["train/ours_grpo"]["reused_sweep_run"] and "ours_grpo" in results["evals"]
    assert "Scored with the `vllm` backend" in (out / "table.md").read_text()
