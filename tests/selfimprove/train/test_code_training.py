"""configs/code_rft.yaml and configs/code_grpo.yaml run through the loop as they are, on a tiny
random model: code task, sandbox verifier (rewards, statuses, refinement on its feedback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selfimprove.config import load_config
from selfimprove.train.loop import run_train
from selfimprove.store import TraceStore

REPO = Path(__file__).resolve().parents[3]
TINY = ["model.name=tiny-random", "run.device=cpu", "task.num_train=12", "task.num_test=3", "sampling.num_samples=2",
        "sampling.max_new_tokens=8", "sampling.batch_size=32", "eval.ks=[1, 2]", "train.rounds=1",
        "train.prompts_per_round=4", "verifier.options.allow_weaker_isolation=true",
        "train.empty_rounds_limit=0"]  # a random model writes no working program: every round is empty


@pytest.mark.parametrize("config, extra", [
    ("code_rft.yaml", ["train.rft.samples_per_prompt=2", "train.rft.refine.max_prompts=2"]),
    ("code_grpo.yaml", ["train.schedule=[grpo]", "train.grpo.steps_per_round=1", "train.grpo.num_generations=2",
                        "train.grpo.prompts_per_step=2", "train.grpo.dynamic_sampling=none"]),
])
def test_code_config_runs_a_round(tmp_path, config, extra):
    cfg = load_config(REPO / "configs" / config, [*TINY, *extra, f"run.output_dir={tmp_path}", "run.name=r"])
    history = run_train(cfg, quiet=True)
    assert [h["round"] for h in history] == [0, 1]
    store = TraceStore(tmp_path / "r" / "traces")
    traces, _ = store.read(1, "generate")
    assert traces and all(t.task == "code" and t.verifier.startswith("code@1") for t in traces)
    # a tiny random model writes no working program: every attempt is graded, none errors or times out
    assert {t.verification.status.value for t in traces} <= {"wrong", "invalid"}
    if config == "code_rft.yaml":
        revisions, _ = store.read(1, "refine")
        assert revisions and all("```python code block" in t.messages[-1]["content"] for t in revisions)
    metrics = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert any("throughput/fraction_verify" in m for m in metrics)
