"""Mixed precision keeps float32 master weights across rounds (issue #28, item 4).

A GPU run computes in bfloat16 (``model.dtype: auto``). Trained in bfloat16 directly, an AdamW step
of about the learning rate is below half a bfloat16 ulp for most weights (2**-14 ~ 6e-5 for weights
near 0.02) and rounds away; DeepSpeed's float32 masters lived only as long as each round's trainer.
On CPU the same holds with ``model.dtype: bfloat16``: this test failed on the previous code (the
round's checkpoint was bfloat16 and most weights had not moved) and passes with float32 masters.
"""

from __future__ import annotations

import torch
from safetensors.torch import load_file

from selfimprove.config import load_config
from selfimprove.models import load_model
from selfimprove.train.loop import run_train
from tests.support import tiny_overrides


def test_a_bf16_policy_keeps_float32_masters_and_small_updates_land(tmp_path):
    base_dir = tmp_path / "tiny-bf16"
    tiny = load_model("tiny-random", device="cpu", seed=0)
    tiny.model.to(torch.bfloat16).save_pretrained(base_dir)
    tiny.tokenizer.save_pretrained(base_dir)
    cfg = load_config(None, tiny_overrides(tmp_path, "bf16", **{
        "model.name": str(base_dir), "model.dtype": "bfloat16", "train.rounds": 1, "train.eval_before": False,
        "train.rft.learning_rate": 1e-5, "train.rft.epochs": 2}))
    run_train(cfg, quiet=True)
    base = load_file(base_dir / "model.safetensors")
    trained = load_file(tmp_path / "bf16" / "checkpoints" / "round-001" / "model.safetensors")
    name = "model.layers.0.self_attn.q_proj.weight"
    assert trained[name].dtype == torch.float32  # the masters, not a bfloat16 copy
    moved = (trained[name] != base[name].float()).float().mean().item()
    assert moved > 0.9, f"only {moved:.1%} of {name} changed: updates were rounded away"
