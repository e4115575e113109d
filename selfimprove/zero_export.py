"""Get plain Hugging Face weights out of DeepSpeed ZeRO: from a checkpoint on disk, or from a live trainer.

:func:`export` (and ``python -m selfimprove.zero_export``) reads a checkpoint, in one process.
:func:`consolidated_model` gathers a trained ZeRO-3 model in memory into an ordinary module on
every rank, so that a loop can sample from it, save it with ``save_pretrained``, or hand it to the
next trainer (a module DeepSpeed has partitioned cannot be wrapped by a second engine).

A Trainer checkpoint written under ZeRO-2/3 (``checkpoint-N/`` with ``global_stepN/`` inside)
holds the fp32 master weights split across the ranks that wrote it. DeepSpeed's own
``get_fp32_state_dict_from_zero_checkpoint`` stitches them back together; we load the result into
a model built from the checkpoint's ``config.json`` and ``save_pretrained`` it next to the
tokenizer, so ``AutoModelForCausalLM.from_pretrained(out)`` works with no DeepSpeed installed.

Needs no GPU and no process group, any number of ranks may have written the checkpoint. Limits:
the whole model is materialised in CPU memory in fp32 (twice its bf16 size); tied weights (the
tiny model ties the LM head to the embeddings) come back through ``tie_weights``.

    python -m selfimprove.zero_export runs/x/trainer/checkpoint-4 runs/x/exported [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                    "vocab.json", "merges.txt", "tokenizer.model", "generation_config.json")


def export(checkpoint: str | Path, out: str | Path, dtype: str = "float32") -> Path:
    """Write ``out`` (a from_pretrained-loadable directory) from a ZeRO ``checkpoint``; returns ``out``."""
    import torch
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    from transformers import AutoConfig, AutoModelForCausalLM

    checkpoint, out = Path(checkpoint), Path(out)
    if not (checkpoint / "latest").exists() and not any(checkpoint.glob("global_step*")):
        raise FileNotFoundError(f"{checkpoint} is not a DeepSpeed checkpoint (no 'latest' file or global_step*/ folder); "
                                "give a checkpoint-N directory written by a Trainer under DeepSpeed")
    state = get_fp32_state_dict_from_zero_checkpoint(str(checkpoint))
    config = AutoConfig.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = {k for k in missing if _is_tied(model, k)}
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"checkpoint {checkpoint} does not match its config: missing {sorted(set(missing) - tied)}, "
                           f"unexpected {sorted(unexpected)}")
    model.tie_weights()
    model.to(getattr(torch, dtype)).save_pretrained(out)
    for name in _TOKENIZER_FILES:
        if (checkpoint / name).exists():
            shutil.copy2(checkpoint / name, out / name)
    return out


def consolidated_model(trainer, model=None):  # noqa: ANN001, ANN201 - a transformers Trainer -> PreTrainedModel
    """The trained model as a plain, unpartitioned module with the trained weights, on every rank.

    Collective under DeepSpeed: every rank must call it. Without ZeRO-3 nothing needs gathering
    and it returns ``model`` (the module the caller gave the trainer, e.g. before a peft wrapper)
    or, when that is None, ``trainer.model``. Under ZeRO-3 it builds an empty copy of the module's
    architecture (a peft model stays a peft model with the same adapters) directly on the
    trainer's device, then gathers the weights *one parameter at a time* into it: no rank ever
    holds a second full copy, in fp32 or on the host. Transformers' global ZeRO-3 flag is cleared,
    so models built afterwards are not partitioned at construction. Limit: every rank then holds
    the whole model on its device (what sampling from it needs anyway).

    Mixed precision (bf16/fp16 under DeepSpeed, which casts the module to that dtype and keeps
    float32 master weights in its optimizer): the trained weights returned are the float32
    masters, at any ZeRO stage, so updates smaller than half a bf16 ulp are not rounded away when
    the round's trainer (and its optimizer) ends. Frozen parameters (a LoRA base) keep their dtype.
    """
    from transformers.integrations import is_deepspeed_zero3_enabled
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    if not is_deepspeed_zero3_enabled():
        plain = model if model is not None else trainer.model
        _restore_master_weights(plain)
        return plain
    import deepspeed
    import torch

    partitioned = trainer.model
    device = trainer.accelerator.device
    dtype = next(partitioned.parameters()).dtype
    if any(_master(p) is not None for p in partitioned.parameters()):  # cheap: a ZeRO-3 param's attribute check
        dtype = torch.float32
    unset_hf_deepspeed_config()
    plain = _empty_like(partitioned, device, dtype)
    targets = dict(plain.named_parameters())
    with torch.no_grad():
        for name, param in partitioned.named_parameters():
            master = _master(param)
            if master is not None:
                targets.pop(name).copy_(master())  # gathered across ranks, float32
                continue
            with deepspeed.zero.GatheredParameters([param], modifier_rank=None):
                targets.pop(name).copy_(param.data)
        for name, buffer in partitioned.named_buffers():  # buffers are never partitioned
            plain.get_buffer(name).copy_(buffer)
    if [k for k in targets if not _is_tied(plain, k)]:
        raise RuntimeError(f"gathered ZeRO-3 weights do not fit the model: missing {sorted(targets)}")
    plain.tie_weights()
    plain.generation_config = partitioned.generation_config
    return plain


def _master(param):  # noqa: ANN001, ANN202 - a DeepSpeed-managed parameter -> a callable or None
    """A callable returning ``param``'s full float32 master weight (a collective), or None when
    DeepSpeed keeps none apart from the parameter itself (float32 training, frozen parameters)."""
    import torch

    if param.dtype == torch.float32 or not param.requires_grad:
        return None
    if not (hasattr(param, "ds_id") and hasattr(param, "_z3_optimizer")) and not hasattr(param, "_hp_mapping"):
        return None
    from deepspeed.utils import safe_get_full_fp32_param

    return lambda: safe_get_full_fp32_param(param)


def _restore_master_weights(model) -> None:  # noqa: ANN001 - a (peft-wrapped) PreTrainedModel
    """ZeRO-1/2 in bf16/fp16: put DeepSpeed's float32 masters back into the module it cast down."""
    import torch

    with torch.no_grad():
        for param in model.parameters():
            master = _master(param)
            if master is not None:
                param.data = master().to(param.device)


def _empty_like(model, device, dtype):  # noqa: ANN001, ANN202 - a (peft-wrapped) PreTrainedModel
    """The same architecture with uninitialised weights on ``device``: built on the meta device,
    so construction allocates nothing and costs no random init."""
    import torch

    peft_config = getattr(model, "peft_config", None)
    base = model.get_base_model() if peft_config is not None else model
    with torch.device("meta"):
        plain = type(base)(base.config)
    if peft_config is not None:
        from peft import get_peft_model

        plain = get_peft_model(plain, peft_config[model.active_adapter])
    plain = plain.to_empty(device=device).to(dtype)
    plain.train(model.training)
    return plain


def _is_tied(model, key: str) -> bool:  # noqa: ANN001 - any PreTrainedModel
    """True for a parameter the model shares with another (DeepSpeed stores shared tensors once)."""
    return bool(getattr(model.config, "tie_word_embeddings", False)) and (key.startswith("lm_head.") or ".lm_head." in key)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m selfimprove.zero_export", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="A checkpoint-N directory holding global_stepN/ (DeepSpeed ZeRO shards).")
    p.add_argument("out", help="Directory to write the Hugging Face model to.")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"], help="dtype of the saved weights.")
    args = p.parse_args(argv)
    try:
        print(export(args.checkpoint, args.out, args.dtype))
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"zero_export: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
