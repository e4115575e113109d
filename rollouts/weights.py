"""The trained weights as a vLLM engine loads them: checkpoint names, LoRA merged in.

:func:`checkpoint_weights` yields ``(name, tensor)`` pairs named as in the model's
``save_pretrained`` checkpoint, which is what vLLM's ``load_weights`` / ``reload_weights``
(``is_checkpoint_format=True``) map onto its fused layers (q/k/v, gate/up). Every parameter is
yielded, so fused groups are always whole.

- A tied ``lm_head`` shares its tensor with the input embedding. By default it is yielded once,
  as ``model.embed_tokens.weight`` (what ``save_pretrained`` writes); with ``aliases=True`` also
  as ``lm_head.weight``, the same tensor again. A vLLM engine needs both: it builds the head as a
  tensor of its own (untied) when the checkpoint it started from carries ``lm_head.weight``
  (vLLM's ``ModelConfig.maybe_untie_word_embeddings``; ``safetensors.torch.save_model`` keeps
  that name and drops the embedding's), and a head never sent then stays on the starting
  weights. Where vLLM did tie them, it loads the one tensor twice.
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
def checkpoint_weights(model: torch.nn.Module, *,
                       aliases: bool = False) -> Iterator[Iterator[tuple[str, torch.Tensor]]]:
    """``with checkpoint_weights(model) as weights:`` iterate ``weights`` inside the block only.

    The tensors are the live parameters (no copies): consume them before the block ends, when a
    peft model's adapters are unmerged again. ``aliases``: a tied tensor is yielded under each of
    its names (module docstring), so tensors may repeat: a file format that refuses shared
    tensors (safetensors) needs copies of the repeats.
    """
    peft = _is_peft(model)

    def pairs() -> Iterator[tuple[str, torch.Tensor]]:
        for name, param in model.named_parameters(remove_duplicate=not aliases):
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
