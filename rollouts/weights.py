"""The trained weights as a vLLM engine loads them: checkpoint names, LoRA merged in.

:func:`checkpoint_weights` yields ``(name, tensor)`` pairs named as in the model's
``save_pretrained`` checkpoint, which is what vLLM's ``load_weights`` / ``reload_weights``
(``is_checkpoint_format=True``) map onto its fused layers (q/k/v, gate/up). Every parameter is
yielded, so fused groups are always whole.

- A tied ``lm_head`` shares its tensor with the input embedding: ``named_parameters`` yields it
  once, as ``model.embed_tokens.weight``, and vLLM ties it on its side. (On CPU vLLM also keeps a
  packed copy of the head for its GEMM; :mod:`rollouts.vllm_engine` re-packs it after a sync.)
- A peft model has its adapters merged into the base weights for the duration of the
  ``with`` block (``merge_adapter`` / ``unmerge_adapter``, as TRL does for its own vLLM sync),
  and is yielded under the base model's names (no ``lora_*`` tensors, no ``base_layer``).
- Under DeepSpeed ZeRO-3 the caller passes a gathered model (TRL's
  ``unwrap_model_for_generation`` in GRPO's ``rollout_func``, or the consolidated policy).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


def _is_peft(model: torch.nn.Module) -> bool:
    return hasattr(model, "merge_adapter") and hasattr(model, "peft_config")


def _checkpoint_name(name: str, peft: bool) -> str | None:
    """``name`` as the base model's checkpoint names it; None for a tensor vLLM must not get."""
    if not peft:
        return name
    if ".lora_" in name or "original_module" in name:
        return None
    name = name.removeprefix("base_model.model.").replace(".base_layer.", ".")
    return name.replace(".modules_to_save.default.", ".")


@contextlib.contextmanager
def checkpoint_weights(model: torch.nn.Module) -> Iterator[Iterator[tuple[str, torch.Tensor]]]:
    """``with checkpoint_weights(model) as weights:`` iterate ``weights`` inside the block only.

    The tensors are the live parameters (no copies): consume them before the block ends, when a
    peft model's adapters are unmerged again.
    """
    peft = _is_peft(model)

    def pairs() -> Iterator[tuple[str, torch.Tensor]]:
        for name, param in model.named_parameters():
            target = _checkpoint_name(name, peft)
            if target is not None:
                yield target, param.detach()

    if peft:
        model.merge_adapter()
    try:
        with torch.no_grad():
            yield pairs()
    finally:
        if peft:
            model.unmerge_adapter()
