"""The policy between phases: load (base or checkpoint, optionally LoRA-wrapped) and save.

Checkpoints are ``save_pretrained`` directories (safetensors). With LoRA only the adapter is
saved; resuming loads the base model and the adapter on top, trainable.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import torch

from selfimprove import atomic
from selfimprove.config import Config
from selfimprove.failpoints import failpoint
from selfimprove.models import LoadedModel, ModelLoadError, load_model, resolve_device, resolve_dtype


def _lora(cfg: Config, loaded: LoadedModel, checkpoint: str | None) -> LoadedModel:
    from peft import LoraConfig, PeftModel, get_peft_model

    o = cfg.train.lora
    with warnings.catch_warnings():
        # peft reads transformers' deprecated `is_gradient_checkpointing`; nothing a user can change.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        if checkpoint is not None:
            model = PeftModel.from_pretrained(loaded.model, checkpoint, is_trainable=True)
        else:
            model = get_peft_model(loaded.model, LoraConfig(
                r=o.r, lora_alpha=o.alpha, lora_dropout=o.dropout, target_modules=list(o.target_modules),
                task_type="CAUSAL_LM"))
    return LoadedModel(model, loaded.tokenizer, loaded.name, loaded.path, loaded.compute_dtype)


def load_policy(cfg: Config, checkpoint: str | None) -> LoadedModel:
    """The base model (``checkpoint`` None) or a saved round checkpoint, on ``run.device``.

    Mixed precision as users expect it: ``model.dtype`` (bfloat16 on a GPU by default) is the
    dtype the policy computes in, under autocast, while its trained weights stay float32 across
    rounds. Trained in bfloat16 directly, most of GRPO's small updates fell below half a bfloat16
    ulp and were rounded away; and DeepSpeed's float32 master weights, kept only while its
    optimizer lives, were lost when each round's trainer ended (``zero_export.consolidated_model``
    copies them back). Cost: 4 bytes a parameter on each rank between rounds, not 2. With LoRA
    only the adapter trains (peft keeps it in float32), so the frozen base stays in ``model.dtype``.
    """
    if checkpoint is not None:
        check_checkpoint(Path(checkpoint))
    lora = cfg.train.lora.enabled
    source = cfg.model.name if checkpoint is None or lora else checkpoint
    compute = resolve_dtype(cfg.model.dtype, resolve_device(cfg.run.device))
    loaded = load_model(source, device=cfg.run.device, dtype=cfg.model.dtype if lora else "float32",
                        cache_dir=cfg.model.cache_dir, seed=cfg.run.seed)
    loaded.compute_dtype = compute
    if lora:
        loaded = _lora(cfg, loaded, checkpoint)
    loaded.model.eval()
    loaded.tokenizer.padding_side = "left"
    return loaded


def check_checkpoint(path: Path) -> None:
    """Raise :class:`ModelLoadError` naming the file and the fix when ``path`` is missing or a weights
    file in it is cut off (checkpoints are written atomically, so that is a copy or a disk that failed)."""
    state = path.parent.parent / "state.json"
    named_by = f" ({state} names it as the latest policy)" if path.parent.name == "checkpoints" and state.exists() else ""
    if not path.is_dir():
        raise ModelLoadError(f"checkpoint {path} does not exist{named_by}; if the run directory was moved or copied, "
                             "bring its checkpoints/ along (or copy them again from the original)")
    from safetensors import SafetensorError, safe_open

    for weights in sorted(path.glob("*.safetensors")):
        try:
            with safe_open(str(weights), framework="pt"):  # reads the header, which covers the whole file
                pass
        except SafetensorError as exc:
            raise ModelLoadError(
                f"{weights}: truncated or damaged ({exc}); copy the checkpoint again from the original run directory "
                "if this one is a copy; otherwise these weights are lost: start a new run (set another run.name)"
            ) from None


def save_checkpoint(policy: LoadedModel, path: Path, extras: Callable[[Path], None] | None = None) -> None:
    """Write the policy to ``path`` atomically (a temp directory renamed into place).

    ``extras(tmp_dir)`` may add files that must appear together with the weights.
    """
    # An existing ``path`` was left by a crash after its rename but before the state commit:
    # it is replaced.
    with atomic.replacing(path) as tmp, torch.no_grad():
        policy.model.save_pretrained(tmp, safe_serialization=True)
        failpoint("checkpoint-write")
        policy.tokenizer.save_pretrained(tmp)
        if extras is not None:
            extras(tmp)
