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
from selfimprove.models import LoadedModel, load_model


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
    return LoadedModel(model, loaded.tokenizer, loaded.name, loaded.path)


def load_policy(cfg: Config, checkpoint: str | None) -> LoadedModel:
    """The base model (``checkpoint`` None) or a saved round checkpoint, on ``run.device``."""
    lora = cfg.train.lora.enabled
    source = cfg.model.name if checkpoint is None or lora else checkpoint
    loaded = load_model(source, device=cfg.run.device, dtype=cfg.model.dtype, cache_dir=cfg.model.cache_dir,
                        seed=cfg.run.seed)
    if lora:
        loaded = _lora(cfg, loaded, checkpoint)
    loaded.model.eval()
    loaded.tokenizer.padding_side = "left"
    return loaded


def save_checkpoint(policy: LoadedModel, path: Path, extras: Callable[[Path], None] | None = None) -> None:
    """Write the policy to ``path`` atomically (a temp directory renamed into place).

    ``extras(tmp_dir)`` may add files that must appear together with the weights.
    """
    # An existing ``path`` was left by a crash after its rename but before the state commit:
    # it is replaced.
    with atomic.replacing(path) as tmp, torch.no_grad():
        policy.model.save_pretrained(tmp, safe_serialization=True)
        policy.tokenizer.save_pretrained(tmp)
        if extras is not None:
            extras(tmp)
