"""benchmarks/self_improve.py: splits, budget rule, scoring, summary and record (fast), and the
whole run in --smoke mode on a tiny random model (slow)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.self_improve_bench import arms, data, report, scoring, summary
from rollouts.trace import Trace
from verifiers.base import Verification

REPO = Path(__file__).resolve().parents[2]


def test_splits_are_disjoint_and_the_probe_is_never_trained():
    s = data.build(train=40, val=5, test=10, ood=6, seed=3)
    assert s.sizes() == {"add2": {"train": 40, "val": 5, "test": 10}, "mul2x1": {"train": 40, "val": 5, "test": 10},
                         "ood_add3": {"ood": 6}}
    keys = {name: {p.split_key for p in getattr(s, name)} for name in ("train", "val", "test", "ood")}
    names = list(keys)
    assert all(not keys[a] & keys[b] for i, a in enumerate(names) for b in names[i + 1:])
    assert all(len(a) == 3 and len(b) == 3 for p in s.ood for a, b in [p.prompt[8:-1].split(" + ")])
    # the test split does not move with the train size
    assert [p.id for p in data.build(train=80, val=5, test=10, ood=6, seed=3).test] == [p.id for p in s.test]


@pytest.mark.parametrize("history, strategy, budget, fits", [
    ([], "rft", 10.0, True),
    ([{"strategy": "rft", "train_wall_s": 4.0}], "rft", 10.0, True),  # 4 + 4.4 <= 10
    ([{"strategy": "rft", "train_wall_s": 4.0}, {"strategy": "rft", "train_wall_s": 9.0}], "rft", 10.0, False),
    # a grpo round is judged by the last grpo round, not by the last round
    ([{"strategy": "grpo", "train_wall_s": 1.0}, {"strategy": "rft", "train_wall_s": 7.0}], "grpo", 10.0, True),
])
def test_a_round_starts_only_if_it_is_expected_to_fit(history, strategy, budget, fits):
    assert arms.next_round_fits(history, strategy, budget) is fits


def _trace(pid, completion, ok, ids, finish="stop"):
    return Trace(problem_id=pid, task="t", messages=[], completion=completion, completion_ids=ids, logprobs=None,
                 finish_reason=finish, reference="13", verification=Verification.graded(ok, "13" if ok else None))


class CharTokenizer:
    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids)


def test_scoring_reads_strict_format_and_the_short_cap_from_the_same_completions():
    text = "so the sum is 13 and \\boxed{13}"
    long = _trace("p", text, True, [ord(c) for c in text])
    cut_text, truncated = scoring.cut(long, 16, CharTokenizer())
    assert cut_text == text[:16] and truncated
    assert scoring.cut(long, 100, CharTokenizer()) == (text, False)
    traces = [long, _trace("p", "13", True, [1, 2]), _trace("q", "\\boxed{12}", False, [1], finish="length")]
    texts = [scoring.cut(t, 16, CharTokenizer()) for t in traces]
    rows = scoring.per_problem(traces, [False, True, False], texts, 16)
    assert rows["p"]["correct"] == 1.0 and rows["p"]["strict"] == 0.5 and rows["p"]["boxed"] == 0.5
    assert rows["p"]["correct@16"] == 0.5 and rows["p"]["strict@16"] == 0.0 and rows["p"]["truncated@16"] == 0.5
    assert rows["q"] == {**rows["q"], "correct": 0.0, "truncated": 1.0, "answer": None}


def arm_config(arm: str) -> dict:
    from selfimprove import configio
    from selfimprove.config import load_config

    if arm == "trl_grpo_tuned":
        return {"trl": {"learning_rate": 1e-5, "lr_scheduler_type": "constant", "temperature": 0.7, "num_generations": 8,
                        "per_device_train_batch_size": 32, "loss_type": "dapo", "beta": 0.0, "epsilon": 0.2,
                        "epsilon_high": 0.28, "max_completion_length": 64}}
    arm = arm.partition("@")[0]  # another seed of the arm
    return configio.to_dict(load_config(REPO / "configs" / "benchmark_self_improve.yaml", arms.LOOP_ARMS[arm]))


def fake_results(gain_by_arm: dict[str, float], n: int = 60) -> dict:
    """A results.json with per-problem rows: base solves the first 30% of each family; each arm
    solves a further fraction ``gain`` of the problems."""
    families = ["add2"] * n + ["mul2x1"] * n
    test = [{"id": f"t{i}", "family": f} for i, f in enumerate(families)]
    ood = [{"id": f"o{i}", "family": "ood_add3"} for i in range(20)]

    def rows(extra: float) -> dict:
        out = {}
        for k, p in enumerate(test + ood):
            j = k % n
            ok = float(j < 0.3 * n or 0.3 * n <= j < (0.3 + extra) * n)
            out[p["id"]] = {"correct": ok, "strict": ok, "correct@64": ok, "strict@64": ok, "boxed": 1.0,
                            "truncated": 0.0, "truncated@64": 0.5, "tokens": 20.0}
        return out

    evals = {label: {mode: {"problems": rows(g), "metrics": {}} for mode in ("greedy", "sampled")}
             for label, g in {"base": 0.0, **gain_by_arm}.items()}
    return {
        "settings": {"model": "m", "eval_cap": 192, "train_cap": 64, "sampled_temperature": 0.7, "eval_samples": 4,
                     "budget_minutes": 8.0},
        "environment": {"git_commit": "0123456789abcdef", "git_dirty": False, "machine": {"cpu": "cpu", "cpus": 2}},
        "invocations": [{"loadavg_before": [0.1, 0.1, 0.1], "loadavg_after": [2.0, 2.0, 2.0]}],
        "data": {"problems": {"test": test, "ood": ood}},
        "phases": {f"train/{a}": {"train_min": 7.5, "steps": 10, "samples": 100, "config": arm_config(a)}
                   for a in gain_by_arm}
        | {"sweep/lr=1e-05": {"learning_rate": 1e-5, "train_min": 8.0, "steps": 40, "val_pass@1": 0.3},
           "sweep/lr=3e-05": {"learning_rate": 3e-5, "train_min": 8.0, "steps": 41, "val_pass@1": 0.2}},
        "evals": evals,
    }


def test_summary_pairs_by_problem_and_evaluates_the_bar(tmp_path):
    results = fake_results({"ours": 0.4, "trl_grpo_tuned": 0.1, "plain_rft": 0.2, "ours_grpo": 0.1, "random": 0.0})
    s = summary.summarize(results, resamples=500)
    ours = s["gains"]["ours"]["greedy"]["overall"]["correct"]
    assert ours["estimate"] == pytest.approx(0.4) and ours["excludes_zero"]
    random_gain = s["gains"]["random"]["greedy"]["overall"]["correct"]
    assert random_gain["low"] == random_gain["high"] == 0.0  # identical answers: no difference at all
    diff = s["differences"]["ours - plain_rft"]["greedy"]["overall"]["correct"]
    assert diff["estimate"] == pytest.approx(0.2) and diff["low"] > 0
    assert s["bar"]["best_peer"] == "plain_rft" and s["bar"]["beats_best_peer_by_margin"]
    assert s["bar"]["random_gain_contains_zero"]
    assert set(s["scores"]["base"]["greedy"]) == {"overall", "add2", "mul2x1", "ood"}
    results["summary"] = s
    text = report.markdown(results)
    assert "| ours | 7.5 | 10 | 100 |" in text and "ours - trl_grpo_tuned" in text and " ratio" not in text
    assert "**plain_rft**: schedule ['rft']" in text and "curriculum False" in text and "STaR False" in text
    assert "4 prompts x 8 generations per step, loss dapo, beta 0, epsilon 0.2 / 0.28" in text
    assert "| 1e-05 (chosen) |" not in text  # the chosen rate comes from the sweep phase, absent here
    report.plot(results, tmp_path / "gains.png")
    assert (tmp_path / "gains.png").stat().st_size > 1000


def test_summary_of_a_partial_record():
    results = fake_results({"ours": 0.2})
    s = summary.summarize(results, resamples=200)
    assert s["bar"] is None and list(s["gains"]) == ["ours"]


def test_seeds_are_pooled_per_arm_and_their_spread_is_in_the_interval():
    # ours: seeds that gain 0.4 and 0.0 (mean 0.2); plain_rft: two seeds that both gain 0.2
    results = fake_results({"ours": 0.4, "ours@1": 0.0, "plain_rft": 0.2, "plain_rft@1": 0.2,
                            "trl_grpo_tuned": 0.0, "random": 0.0, "random@1": 0.0})
    for label in ("ours@1", "plain_rft@1", "random@1"):
        results["phases"][f"train/{label}"].update(train_min=7.0, steps=9, samples=90)
    results["settings"]["seeds"] = [0, 1]
    s = summary.summarize(results, resamples=1000)
    assert s["runs"]["ours"] == ["ours", "ours@1"] and s["runs"]["trl_grpo_tuned"] == ["trl_grpo_tuned"]
    assert "ours@1" not in s["scores"] and "ours@1" not in s["gains"]
    ours = s["scores"]["ours"]["greedy"]["overall"]
    assert ours["correct"]["estimate"] == pytest.approx(0.5) and ours["correct"]["runs"] == 2
    assert ours["per_run"] == {"ours": pytest.approx(0.7), "ours@1": pytest.approx(0.3)}
    diff = s["differences"]["ours - plain_rft"]["greedy"]["overall"]["correct"]
    assert diff["estimate"] == pytest.approx(0.0)
    # one seed far ahead, one far behind: the pooled difference cannot claim anything either way
    assert diff["low"] < -0.1 and diff["high"] > 0.1
    one_seed = summary.summarize(fake_results({"ours": 0.4, "plain_rft": 0.2, "trl_grpo_tuned": 0.0,
                                               "random": 0.0}), resamples=1000)
    assert one_seed["differences"]["ours - plain_rft"]["greedy"]["overall"]["correct"]["low"] > 0
    assert s["bar"]["runs_per_arm"]["ours"] == 2 and not s["bar"]["beats_best_peer_by_margin"]
    results["summary"] = s
    text = report.markdown(results)
    assert "| ours | 7.5 / 7.0 | 10 / 9 | 100 / 90 |" in text
    assert "| ours | 2 | seed 0: 0.700, seed 1: 0.300 | 0.500 |" in text and "over training seeds" in text


def test_both_grpo_arms_get_their_own_sweep_and_the_grpo_bar_compares_them(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("self_improve_script", REPO / "benchmarks" / "self_improve.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    settings = script.resolve_settings(script.parse_args(["--smoke", "--out", str(tmp_path), "--arms", "ours_grpo",
                                                          "trl_grpo_tuned", "--sweep-lrs", "1e-5", "3e-5"]))
    assert [p for p in script.plan(settings) if p.startswith("sweep/")] == [
        "sweep/lr=1e-05", "sweep/lr=3e-05", "sweep/ours_grpo/lr=1e-05", "sweep/ours_grpo/lr=3e-05"]
    results = fake_results({"trl_grpo_tuned": 0.1, "ours_grpo": 0.3})
    results["settings"].update(arms=["trl_grpo_tuned", "ours_grpo"], sweep_lrs=[1e-5, 3e-5],
                               swept_arms=["trl_grpo_tuned", "ours_grpo"])
    results["phases"] |= {"sweep/lr=1e-05": {"learning_rate": 1e-5, "train_min": 7.0, "steps": 10, "val_pass@1": 0.3,
                                             "val_truncated": 0.0},
                          "sweep/ours_grpo/lr=1e-05": {"learning_rate": 1e-5, "train_min": 7.0, "steps": 6,
                                                       "val_pass@1": 0.5, "val_truncated": 0.0},
                          "sweep/ours_grpo/lr=3e-05": {"learning_rate": 3e-5, "train_min": 7.0, "steps": 6,
                                                       "val_pass@1": 0.1, "val_truncated": 0.4}}
    results["phases"]["train/ours_grpo"]["learning_rate"] = 1e-5
    from benchmarks.self_improve_bench import phases

    assert phases.best_learning_rate(results, "ours_grpo") == 1e-5  # its own sweep, not TRL's
    assert phases._sweep_lr(results, "ours_grpo") == ["train.grpo.learning_rate=1e-05"]
    s = summary.summarize(results, resamples=500)
    b = s["grpo_bar"]
    assert b["ours_grpo_minus_trl"]["estimate"] == pytest.approx(0.2) and b["at_least_trl"]
    assert b["collapses_where_trl_does_not"] == [3e-5]  # ours truncates 40% at 3e-5; TRL's 3e-5 was fine (0.0)
    results["summary"] = s
    text = report.markdown(results)
    assert "## ours_grpo learning-rate sweep" in text and "| 1e-05 (chosen) | 7.0 | 6 | 0.500 | 0.00 |" in text
    assert "| ours_grpo - trl_grpo_tuned | +0.200" in text and "**3e-05**" in text


def test_seeds_plan_every_arm_at_one_seed_before_the_next(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("self_improve_script", REPO / "benchmarks" / "self_improve.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    settings = script.resolve_settings(script.parse_args(["--smoke", "--out", str(tmp_path), "--seeds", "3", "5", "--scorer", "hf",
                                                          "--arms", "ours", "trl_grpo_tuned"]))
    assert script.plan(settings)[-4:] == ["arm/ours", "arm/trl_grpo_tuned", "arm/ours@5", "arm/trl_grpo_tuned@5"]
    assert script.resolve_settings(script.parse_args(["--smoke", "--out", str(tmp_path)]))["seeds"] == [0]
    with pytest.raises(SystemExit, match="repeats"):
        script.resolve_settings(script.parse_args(["--smoke", "--out", str(tmp_path), "--seeds", "1", "1"]))
    from benchmarks.self_improve_bench import phases

    cfg = phases.loop_config(settings, tmp_path, "plain_rft", seed=5)
    assert (cfg.run.seed, cfg.run.name) == (5, "plain_rft-seed5")
    assert phases.loop_config(settings, tmp_path, "ours").run.seed == 3


@pytest.mark.slow
def test_smoke_run_writes_the_whole_record_and_resumes(tmp_path):
    out = tmp_path / "bench"
    cmd = [sys.executable, str(REPO / "benchmarks" / "self_improve.py"), "--smoke", "--model", "tiny-random",
           "--out", str(out), "--budget-minutes", "1.5", "--sweep-lrs", "1e-5", "3e-5", "--threads", "1"]
    subprocess.run(cmd, check=True, cwd=REPO, timeout=1800)
    results = json.loads((out / "results.json").read_text())
    assert set(results["evals"]) == {"base", *summary.ARMS}
    assert results["environment"]["git_commit"] and results["environment"]["pip_freeze"]["packages"]
    assert results["invocations"][0]["loadavg_after"]
    for arm in summary.ARMS:
        entry = results["phases"][f"train/{arm}"]
        assert entry["done"] and entry["config"] and entry["steps"] >= 0
    assert results["phases"]["train/trl_grpo_tuned"]["reused_sweep_run"]
    ours_grpo = results["phases"]["train/ours_grpo"]  # our GRPO: the best run of its own sweep
    assert ours_grpo["reused_sweep_run"] and set(ours_grpo["sweep"]) == {"sweep/ours_grpo/lr=1e-05",
                                                                         "sweep/ours_grpo/lr=3e-05"}
    assert ours_grpo["config"]["train"]["grpo"]["learning_rate"] == ours_grpo["learning_rate"]
    assert (out / "table.md").read_text().count("| ours") >= 2 and (out / "gains.png").exists()
    subprocess.run([*cmd, "--resume"], check=True, cwd=REPO, timeout=600)  # nothing left to do: re-renders
    again = json.loads((out / "results.json").read_text())
    assert len(again["invocations"]) == 2 and again["evals"] == results["evals"]


@pytest.mark.slow
def test_smoke_run_with_two_seeds_trains_and_scores_each_arm_twice(tmp_path):
    out = tmp_path / "bench"
    cmd = [sys.executable, str(REPO / "benchmarks" / "self_improve.py"), "--smoke", "--model", "tiny-random",
           "--out", str(out), "--budget-minutes", "0.5", "--sweep-lrs", "1e-5", "--threads", "1",
           "--arms", "ours", "trl_grpo_tuned", "--seeds", "0", "1"]
    subprocess.run(cmd, check=True, cwd=REPO, timeout=1800)
    results = json.loads((out / "results.json").read_text())
    assert set(results["evals"]) == {"base", "ours", "ours@1", "trl_grpo_tuned", "trl_grpo_tuned@1"}
    assert results["phases"]["train/ours@1"]["config"]["run"]["seed"] == 1
    assert results["phases"]["train/trl_grpo_tuned@1"]["config"]["trl"]["seed"] == 1
    assert not results["phases"]["train/trl_grpo_tuned@1"].get("reused_sweep_run")
    assert results["summary"]["scores"]["ours"]["greedy"]["overall"]["correct"]["runs"] == 2
    assert "| ours | 2 | seed 0:" in (out / "table.md").read_text()


def test_resume_continues_the_same_experiment_and_refuses_another(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("self_improve_script", REPO / "benchmarks" / "self_improve.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    from benchmarks.self_improve_bench import record

    state = {"commit": "a" * 40, "changed": []}
    monkeypatch.setattr(record, "git_state", lambda: {"git_commit": state["commit"], "git_dirty": False,
                                                      "git_status": []})
    monkeypatch.setattr(record, "code_changes", lambda since: state["changed"])
    monkeypatch.setattr(record, "pip_freeze", lambda: {"source": "test", "packages": []})
    argv = ["--smoke", "--out", str(tmp_path / "b"), "--budget-minutes", "0.5"]
    first = script.start(script.parse_args(argv))
    assert (tmp_path / "b" / "data" / "train.jsonl").exists() and len(first["invocations"]) == 1
    with pytest.raises(SystemExit, match="exists"):
        script.start(script.parse_args(argv))
    state["commit"] = "b" * 40  # another commit that changed nothing the benchmark runs: fine
    again = script.start(script.parse_args([*argv, "--resume"]))
    assert [i["git_commit"][0] for i in again["invocations"]] == ["a", "b"]
    assert again["data"] == first["data"]
    state["changed"] = ["selfimprove/train/loop.py"]
    with pytest.raises(SystemExit, match="loop.py"):
        script.start(script.parse_args([*argv, "--resume"]))
    with pytest.raises(SystemExit, match="budget_minutes"):
        state["changed"] = []
        script.start(script.parse_args(["--smoke", "--out", str(tmp_path / "b"), "--resume"]))


def _live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (a zombie left to an init that does not reap is dead)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def test_a_round_that_cannot_end_within_the_budget_is_stopped_with_its_process_group(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(arms, "STARTUP_ALLOWANCE_S", 0.3)
    proc = subprocess.Popen(["bash", "-c", "sleep 60 & sleep 60"], start_new_session=True)
    t0 = time.perf_counter()
    assert arms.watch(proc, 2, tmp_path, left_s=0.2, poll_s=0.05) is False
    assert time.perf_counter() - t0 < 15 and proc.poll() is not None
    time.sleep(0.2)
    assert _live_members(proc.pid) == []  # the backgrounded sleep went with it
    # once the round's update is done its clock has stopped: its evaluation runs to the end
    (tmp_path / "state.json").write_text(json.dumps({"completed": ["2:generate", "2:train"]}))
    proc = subprocess.Popen(["sleep", "1"], start_new_session=True)
    assert arms.watch(proc, 2, tmp_path, left_s=0.0, poll_s=0.05) is True and proc.returncode == 0


@pytest.mark.parametrize("interruption", ["ctrl-c", "orphaned"])
def test_a_round_does_not_outlive_an_interrupted_or_killed_benchmark(tmp_path, monkeypatch, interruption):
    import os
    import time

    proc = subprocess.Popen(["bash", "-c", "sleep 60 & sleep 60"], start_new_session=True)
    if interruption == "ctrl-c":  # the first wait is interrupted; later sleeps (the kill's waits) are real
        real_sleep, calls = time.sleep, []

        def interrupted(seconds):
            calls.append(seconds)
            if len(calls) == 1:
                raise KeyboardInterrupt
            real_sleep(seconds)
        monkeypatch.setattr(time, "sleep", interrupted)
        error = KeyboardInterrupt
    else:  # the benchmark (our parent) was killed: we are re-parented
        parents = iter([os.getppid(), -1])
        monkeypatch.setattr(os, "getppid", lambda: next(parents, -1))
        error = RuntimeError
    with pytest.raises(error):
        arms.watch(proc, 2, tmp_path, left_s=None, poll_s=0.05)
    assert proc.poll() is not None
    time.sleep(0.2)
    assert _live_members(proc.pid) == []


def test_a_loop_arm_runs_each_round_in_its_own_process(tmp_path, monkeypatch):
    from selfimprove.config import load_config

    sets = ["model.name=tiny-random", "run.device=cpu", f"run.output_dir={tmp_path}", "run.name=arm", "task.num_train=8",
            "task.num_test=2", "sampling.max_new_tokens=8", "train.prompts_per_round=4", "train.rft.samples_per_prompt=2",
            "train.rft.rationalize.enabled=false", "train.rft.batch_size=4", "train.rft.epochs=1", "train.rounds=2",
            "train.eval_before=false", "verifier.workers=1", "train.keep_checkpoints=3",
            "train.empty_rounds_limit=0"]  # a random model may verify nothing; the benchmark's config says the same
    out = arms.run_loop_arm(load_config(None, sets), budget_s=3600)
    assert out["abandoned_round"] is None and [r["counted"] for r in out["rounds"]] == [True, True]
    assert out["checkpoint"].endswith("round-002") and Path(out["checkpoint"]).exists()
    # a third round that cannot fit: started anyway here, then stopped before its update ends
    monkeypatch.setattr(arms, "STARTUP_ALLOWANCE_S", 0.0)
    monkeypatch.setattr(arms, "next_round_fits", lambda *a: True)
    out = arms.run_loop_arm(load_config(None, [*sets, "train.rounds=3"]), budget_s=out["train_min"] * 60 + 1e-3)  # (minutes * 60 may round below the seconds)
    assert out["abandoned_round"] == 3 and len(out["rounds"]) == 2 and out["checkpoint"].endswith("round-002")
