"""Exact resume from any instant (#31 item 4): a run killed (as by ``kill -9``) at a named point
in any phase and resumed ends with the same trace store, the same metrics lines and the same
final weights as a run never interrupted.

Each kill uses a failpoint (:mod:`selfimprove.failpoints`): ``SELFIMPROVE_FAILPOINT=name:N`` makes
the process ``os._exit(137)`` the N-th time it reaches that point. The run is 3 rounds (rft, then
two grpo rounds sharing one optimizer) on the tiny model, with a base evaluation.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from selfimprove.failpoints import POINTS
from selfimprove.store import TraceStore
from tests.support import as_sets, tiny_overrides

REPO = Path(__file__).resolve().parents[3]
SETTINGS = {"train.rounds": 3, "train.schedule": "[rft, grpo]", "train.rft.epochs": 2, "train.prompts_per_round": 16,
            "train.grpo.steps_per_round": 2, "train.grpo.prompts_per_step": 2, "train.grpo.num_generations": 4,
            "train.grpo.learning_rate": 1e-3, "eval.max_problems": 4, "sampling.num_samples": 4, "eval.ks": "[1, 4]"}
#: (failpoint, which time it fires): every phase of every kind, rounds 0 to 3. A negative N counts
#: back from the reference run's last optimizer step (-2: the first step of round 3, whose grpo
#: trainer resumed round 2's optimizer).
KILLS = [("verify", 1), ("sample", 2), ("store-commit", 2), ("phase-done", 3), ("train-step", 1),
         ("checkpoint-write", 1), ("checkpoint-commit", 2), ("train-done", 2), ("eval", 2), ("eval-commit", 3),
         ("round-end", 2), ("train-step", -2)]
QUICK = [("checkpoint-commit", 2)]  # the rest run with -m slow
#: metrics that measure time or speed, which differ between any two runs
CLOCK = ("time", "time/", "throughput/", "trainer/train_runtime", "trainer/train_samples_per_second",
         "trainer/train_steps_per_second", "tokens_per_s", "_s")


def _train(out: Path, name: str, *extra: str, failpoint: str | None = None) -> subprocess.CompletedProcess:
    sets = dict(o.split("=", 1) for o in tiny_overrides(out, name, **SETTINGS))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("SELFIMPROVE_FAILPOINT", None)
    if failpoint:
        env["SELFIMPROVE_FAILPOINT"] = failpoint
    return subprocess.run([sys.executable, "-m", "selfimprove.cli", "train", *as_sets(sets), *extra], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=900)


def _books(run: Path) -> dict:
    store = TraceStore(run / "traces")
    return {(e["round"], e["phase"]): [(t.problem_id, t.sample_index, t.completion, t.verification.status.value,
                                        t.policy) for t in store.read(e["round"], e["phase"])[0]]
            for e in store.entries}


def _lines(run: Path) -> dict[str, dict]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert all("line" in m for m in lines), [m for m in lines if "line" not in m][:2]
    named = {m["line"]: m for m in lines}
    assert len(named) == len(lines), "a line was written twice"
    return {k: {key: v for key, v in m.items() if not (key.startswith(CLOCK) or key.endswith(CLOCK))}
            for k, m in named.items()}


def _same_number(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-5 * max(1.0, abs(a))
    return a == b


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("chaos")
    done = _train(out, "whole")
    assert done.returncode == 0, done.stderr[-3000:]
    return out / "whole"


def _kill_and_resume(reference: Path, tmp_path: Path, point: str, nth: int) -> None:
    assert point in POINTS
    if nth < 0:
        nth += json.loads((reference / "state.json").read_text())["global_step"] + 1
    killed = _train(tmp_path, "cut", failpoint=f"{point}:{nth}")
    assert killed.returncode == 137, f"{point}:{nth} never fired (rc {killed.returncode}): {killed.stderr[-2000:]}"
    resumed = _train(tmp_path, "cut", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = tmp_path / "cut"
    assert _books(run) == _books(reference)
    a, b = _lines(reference), _lines(run)
    assert sorted(a) == sorted(b)
    for name in a:
        assert sorted(a[name]) == sorted(b[name]), name
        assert all(_same_number(a[name][k], b[name][k]) for k in a[name]), (name, a[name], b[name])
    final = "checkpoints/round-003/model.safetensors"
    w, c = load_file(reference / final), load_file(run / final)
    assert all(torch.allclose(w[k], c[k], atol=1e-6) for k in w)
    assert not list((run / "checkpoints").glob(".*"))  # no abandoned temporary checkpoint left


@pytest.mark.parametrize("point, nth", QUICK)
def test_killed_at_a_commit_boundary_resumes_exactly(reference, tmp_path, point, nth):
    _kill_and_resume(reference, tmp_path, point, nth)


@pytest.mark.slow
@pytest.mark.parametrize("point, nth", [k for k in KILLS if k not in QUICK])
def test_killed_anywhere_resumes_exactly(reference, tmp_path, point, nth):
    _kill_and_resume(reference, tmp_path, point, nth)
