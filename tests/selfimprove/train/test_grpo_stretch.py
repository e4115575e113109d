"""GRPO as one online learner over a stretch of rounds (#27): the optimizer, its step count and
the LR schedule carry from round to round, and a run killed mid-stretch resumes to the same
steps as one that was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from selfimprove.config import load_config
from selfimprove.train.loop import run_train
from tests.support import as_sets, tiny_overrides

REPO = Path(__file__).resolve().parents[3]
STRETCH = {"train.rounds": 3, "train.schedule": "[grpo]", "train.grpo.steps_per_round": 2,
           "train.grpo.prompts_per_step": 2, "train.grpo.num_generations": 4, "train.grpo.learning_rate": 1e-3,
           "train.grpo.lr_scheduler_type": "linear", "train.eval_every": 3, "train.eval_before": False,
           "eval.max_problems": 4}


def _trainer_lines(run: Path) -> list[dict]:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [m for m in lines if "trainer/learning_rate" in m]


def test_optimizer_and_schedule_carry_over_a_stretch_and_fresh_samples_have_ratio_one(tmp_path, monkeypatch):
    fresh = {"train.grpo.reuse_rollouts": False}  # every group sampled by the weights it trains
    monkeypatch.chdir(tmp_path)  # run.output_dir relative to the working directory, as the default "runs" is
    run_train(load_config(None, tiny_overrides("runs", "carry", **STRETCH, **fresh)), quiet=True)
    tmp_path = tmp_path / "runs"
    lines = _trainer_lines(tmp_path / "carry")
    rates = [m["trainer/learning_rate"] for m in lines]
    assert [m["step"] for m in lines] == [1, 2, 3, 4, 5, 6]
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == 6  # one linear decay over 6 steps
    ckpts = tmp_path / "carry" / "checkpoints"
    assert [json.loads((ckpts / f"round-00{r}" / "trainer_state.json").read_text())["global_step"]
            for r in (1, 2)] == [2, 4]
    assert (ckpts / "round-003" / "optimizer.pt").exists()  # a run extended by more grpo rounds continues it
    # Fresh fp32 samples: the trainer's log-probabilities are the engine's, ratio 1 within 1e-4.
    assert all(abs(m["trainer/offpolicy/ratio_max"] - 1) < 1e-4 for m in lines)
    assert all(abs(m["trainer/offpolicy/ratio_mean"] - 1) < 1e-4 and m["trainer/offpolicy/clipped"] == 0 for m in lines)

    run_train(load_config(None, tiny_overrides(tmp_path, "reset", **STRETCH, **fresh,
                                               **{"train.grpo.carry_optimizer": False})), quiet=True)
    rates = [m["trainer/learning_rate"] for m in _trainer_lines(tmp_path / "reset")]
    assert rates[0::2] == [1e-3] * 3  # a fresh optimizer and schedule every round
    assert not (tmp_path / "reset" / "checkpoints" / "round-001" / "optimizer.pt").exists()


def _train(run_dir: Path, name: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    sets = as_sets({o.split("=", 1)[0]: o.split("=", 1)[1] for o in tiny_overrides(run_dir, name, **STRETCH)})
    return subprocess.Popen([sys.executable, "-m", "selfimprove.cli", "train", *sets, *extra], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_kill_9_mid_stretch_then_resume_takes_the_uninterrupted_steps(tmp_path):
    whole = _train(tmp_path, "whole")
    cut = _train(tmp_path, "cut")
    state = tmp_path / "cut" / "state.json"
    deadline = time.monotonic() + 600
    while not (state.exists() and "3:generate" in json.loads(state.read_text())["completed"]):
        assert cut.poll() is None and time.monotonic() < deadline, cut.stdout.read()[-3000:]
        time.sleep(0.01)
    os.kill(cut.pid, signal.SIGKILL)  # round 3's update is under way: its optimizer state is round 2's
    cut.wait()
    assert "3:train" not in json.loads(state.read_text())["completed"]
    assert whole.wait(timeout=600) == 0, whole.stdout.read()[-3000:]
    resumed = _train(tmp_path, "cut", "--resume")
    assert resumed.wait(timeout=600) == 0, resumed.stdout.read()[-3000:]

    keys = ("trainer/loss", "trainer/grad_norm", "trainer/learning_rate", "trainer/reward")
    a, b = _trainer_lines(tmp_path / "whole"), _trainer_lines(tmp_path / "cut")
    assert [m["step"] for m in b] == [m["step"] for m in a] == [1, 2, 3, 4, 5, 6]
    for x, y in zip(a, b):
        assert all(abs(x[k] - y[k]) <= 1e-5 * max(1.0, abs(x[k])) for k in keys), (x["step"], x, y)
    w, c = (load_file(tmp_path / r / "checkpoints" / "round-003" / "model.safetensors") for r in ("whole", "cut"))
    assert all(torch.allclose(w[k], c[k], atol=1e-6) for k in w)
