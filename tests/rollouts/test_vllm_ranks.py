"""The vLLM backend's per-rank set-up on 2 gloo ranks, without vLLM (the default environment).

vLLM is faked at its edge: the colocated engine by a recorder of the directory it would start
from. The same path with real vLLM: ``tests/rollouts/test_vllm_colocate_ranks.py`` (slow).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.rollouts.ranks import run_ranks


class DirRecorder:
    """Stands in for ColocatedRuntime: loads the model back from the directory vLLM would start from."""

    def __init__(self, model_dir, cfg, *, dtype, on_cpu, seed):
        self.model_dir = model_dir
        self.files = sorted(os.listdir(model_dir))
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            self.reloaded = AutoModelForCausalLM.from_pretrained(model_dir)
            self.vocab = len(AutoTokenizer.from_pretrained(model_dir))
            self.error = None
        except (OSError, ValueError) as exc:
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"

    def close(self):
        pass


def _engine_dir_on_rank(rank: int) -> dict:
    import torch

    import rollouts.vllm_engine
    from rollouts.backends import close_shared_runtime, shared_vllm_runtime
    from rollouts.config import RolloutsConfig
    from selfimprove.models import load_model

    rollouts.vllm_engine.ColocatedRuntime = DirRecorder
    loaded = load_model("tiny-random", device="cpu")  # path None: started from a temporary copy, as a hub id is
    runtime = shared_vllm_runtime(loaded.model, loaded.tokenizer, RolloutsConfig(backend="vllm"), model_dir=None)
    out = {"files": runtime.files, "error": runtime.error}
    if runtime.error is None:
        want = loaded.model.state_dict()
        out["max_diff"] = max(float((t - want[k]).abs().max()) for k, t in runtime.reloaded.state_dict().items())
        out["vocab"] = (runtime.vocab, len(loaded.tokenizer))
    close_shared_runtime()
    out["removed"] = not Path(runtime.model_dir).exists()
    assert torch.distributed.get_world_size() == 2
    return out


def test_every_rank_starts_its_engine_from_a_complete_copy_of_the_policy():
    """transformers' save_pretrained writes on global rank 0 only once torch.distributed is up;
    every rank starts its own engine and needs the config, tokenizer and weights."""
    ranks = run_ranks(_engine_dir_on_rank, 2)
    assert [got["error"] for got in ranks] == [None, None], ranks
    for rank, got in enumerate(ranks):
        assert got["max_diff"] == 0.0 and got["vocab"][0] == got["vocab"][1]
        assert got["removed"], f"rank {rank}: the temporary copy outlived its engine"

