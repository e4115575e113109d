"""``selfimprove train`` with ``rollouts.backend=vllm``: one rft and one grpo round of the embedded
model on CPU, through the CLI (slow; needs vLLM: bash launch/setup_vllm.sh, then
.venv-vllm/bin/python -m pytest -m slow tests/selfimprove/test_vllm_train.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytest.importorskip("vllm")
pytestmark = pytest.mark.slow


def test_rft_then_grpo_round_sample_every_phase_from_the_current_weights(tmp_path):
    from selfimprove.store import TraceStore

    sets = ["run.name=vllm", f"run.output_dir={tmp_path}", "rollouts.backend=vllm", "train.rounds=2",
            "train.schedule=[rft, grpo]", "train.prompts_per_round=8", "train.rft.samples_per_prompt=4",
            "train.rft.rationalize.max_prompts=2", "train.grpo.num_generations=4", "train.grpo.prompts_per_step=2",
            "train.grpo.steps_per_round=2", "train.grpo.reuse_rollouts=false", "train.grpo.dynamic_sampling=none",
            "task.num_test=8", "sampling.num_samples=2", "sampling.max_new_tokens=32"]
    cmd = [sys.executable, "-m", "selfimprove.cli", "train", "--config", "configs/quickstart.yaml"]
    done = subprocess.run(cmd + [a for s in sets for a in ("--set", s)], cwd=REPO, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    store = TraceStore(tmp_path / "vllm" / "traces")
    policy = lambda round, phase: {t.policy for t in store.read(round, phase)[0]}  # noqa: E731
    base = "builtin:smollm2-135m-instruct"
    assert policy(0, "eval") == policy(1, "generate") == {base}
    assert policy(1, "eval") == policy(2, "generate") == {"checkpoints/round-001"}
    # GRPO sampled fresh groups at each of its 2 steps, the second from the weights after step 1.
    assert policy(2, "rollouts") == {"checkpoints/round-001", "checkpoints/round-001@step1"}
    assert policy(2, "eval") == {"checkpoints/round-002"}
    assert all(t.logprobs and len(t.logprobs) == t.num_tokens for t in store.read(2, "rollouts")[0])
