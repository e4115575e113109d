"""A small, real distributed training job: the tiny model, a few SFT steps, under a DeepSpeed config.

It exists to prove the scale-out path end to end without the round loop: TRL's ``SFTTrainer``
(the same trainer the ``rft`` strategy uses) trains the seeded ``tiny-random`` model on a fixed,
seeded toy corpus under ``configs/deepspeed/*.json``, then

- rank 0 writes ``<out>/result.json``: per-step losses (already averaged over ranks by the
  Trainer), the world size, and a checksum of the full parameters (gathered under ZeRO-3), also
  of the plain copy :func:`selfimprove.zero_export.consolidated_model` makes of them;
- ``trainer.save_model`` writes ``<out>/model``: consolidated weights as a plain Hugging Face model
  (under ZeRO-3 through ``stage3_gather_16bit_weights_on_model_save``);
- with ``--save-steps N`` DeepSpeed checkpoints (partitioned optimizer state included) land in
  ``<out>/trainer/checkpoint-*``; ``--resume-from`` continues from one.

The global batch is fixed (``--global-batch``) and split evenly over the ranks, and every example
has the same token length, so a 1-rank and an N-rank run see the same samples per step and
compute the same loss up to float summation order. Limits: CPU (gloo) or CUDA (NCCL); no packing,
no gradient accumulation beyond ``--grad-accum``; the corpus is synthetic.

    torchrun --nproc_per_node 2 -m selfimprove.dist_train --deepspeed configs/deepspeed/zero3.json --out runs/dist
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from selfimprove import distributed


def toy_corpus(n: int, seed: int) -> list[dict[str, str]]:
    """``n`` additions like ``'017+250=0267'``: zero-padded, so every example is 12 bytes long."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.randrange(1000), rng.randrange(1000)
        rows.append({"text": f"{a:03d}+{b:03d}={a + b:04d}"})
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m selfimprove.dist_train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deepspeed", default=None, help="DeepSpeed JSON config (configs/deepspeed/*.json); none = plain DDP/1 process.")
    p.add_argument("--out", required=True, help="Output directory (result.json, model/, trainer/).")
    p.add_argument("--steps", type=int, default=4, help="Optimizer steps.")
    p.add_argument("--global-batch", type=int, default=4, help="Examples per optimizer step over all ranks (divisible by world size x grad-accum).")
    p.add_argument("--grad-accum", type=int, default=1, help="Gradient accumulation steps.")
    p.add_argument("--lr", type=float, default=1e-3, help="Learning rate (large, so a few steps move the weights visibly).")
    p.add_argument("--seed", type=int, default=0, help="Seed of the model, corpus and data order.")
    p.add_argument("--examples", type=int, default=64, help="Corpus size.")
    p.add_argument("--save-steps", type=int, default=0, help="Save a DeepSpeed checkpoint every N steps (0 = never).")
    p.add_argument("--resume-from", default=None, help="A checkpoint-N directory written by --save-steps.")
    return p.parse_args(argv)


def _per_device_batch(args: argparse.Namespace, world_size: int) -> int:
    per_step = world_size * args.grad_accum
    if args.global_batch % per_step:
        raise SystemExit(f"dist_train: --global-batch {args.global_batch} is not divisible by world size {world_size} "
                         f"x --grad-accum {args.grad_accum}; pick a multiple of {per_step}")
    return args.global_batch // per_step


def param_checksum(model: Any) -> dict[str, float]:
    """Sum and sum of squares of every parameter, gathered in full when ZeRO-3 partitions them.

    Collective under ZeRO-3: every rank must call it."""
    import torch

    params = list(model.parameters())
    total, squares, count = 0.0, 0.0, 0
    with _gathered(params):
        for p in params:
            data = p.detach().to(torch.float64)
            total += float(data.sum())
            squares += float((data * data).sum())
            count += data.numel()
    return {"sum": total, "sum_sq": squares, "numel": count}


def _gathered(params: list[Any]):
    from transformers.integrations import is_deepspeed_zero3_enabled

    if is_deepspeed_zero3_enabled():
        import deepspeed

        return deepspeed.zero.GatheredParameters(params, modifier_rank=None)
    import contextlib

    return contextlib.nullcontext()


def loss_recorder():  # noqa: ANN201 - a transformers TrainerCallback with a .losses dict
    """A callback keeping each logged training loss by optimizer step (built here, not at import
    time, so that ``--help`` does not import transformers)."""
    from transformers import TrainerCallback

    class LossRecorder(TrainerCallback):
        def __init__(self) -> None:
            self.losses: dict[int, float] = {}

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001 - HF's signature
            if logs and "loss" in logs:
                self.losses[state.global_step] = float(logs["loss"])

    return LossRecorder()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from selfimprove.models import build_tiny_random
    from selfimprove.zero_export import consolidated_model

    w = distributed.world()
    distributed.skip_deepspeed_cpu_kernels()
    out = Path(args.out)
    config = SFTConfig(
        output_dir=str(out / "trainer"),
        deepspeed=args.deepspeed,
        max_steps=args.steps,
        per_device_train_batch_size=_per_device_batch(args, w.world_size),
        gradient_accumulation_steps=args.grad_accum,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        logging_steps=1,
        save_strategy="steps" if args.save_steps else "no",
        save_steps=args.save_steps or 500,
        report_to=[],
        seed=args.seed,
        data_seed=args.seed,
        max_length=64,
        dataloader_num_workers=0,
        disable_tqdm=True,
        bf16=False,
        use_cpu=not _cuda(),
        # Also DeepSpeed's: accelerate hands it to deepspeed.init_distributed. Unset in one process,
        # where naming a backend would make accelerate look for a process group.
        ddp_backend=distributed.backend() if w.distributed else None,
    )
    # The model is built after the config so that, were it loaded with from_pretrained, transformers
    # could already partition it at construction under ZeRO-3; the tiny model is built in full on
    # every rank from the same seed and DeepSpeed partitions it when the engine starts.
    model, tokenizer = build_tiny_random(args.seed)
    recorder = loss_recorder()
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(toy_corpus(args.examples, args.seed)),
                         processing_class=tokenizer, callbacks=[recorder])
    trainer.train(resume_from_checkpoint=args.resume_from)
    checksum = param_checksum(trainer.model)
    plugin = trainer.accelerator.state.deepspeed_plugin
    nodes = distributed.gather_objects(os.environ.get("GROUP_RANK", os.environ.get("SLURM_NODEID", "0")))
    trainer.save_model(str(out / "model"))  # collective under ZeRO-3: rank 0 writes the gathered weights
    checksum_plain = param_checksum(consolidated_model(trainer))  # what a round loop would sample from next
    if w.is_main:
        tokenizer.save_pretrained(out / "model")
        result = {"world_size": w.world_size, "nodes": len(set(nodes)), "steps": args.steps,
                  "deepspeed": args.deepspeed or os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE"),
                  "zero_stage": plugin.zero_stage if plugin else None,
                  "losses": [recorder.losses[k] for k in sorted(recorder.losses)],
                  "loss_steps": sorted(recorder.losses), "params": checksum,
                  "params_consolidated": checksum_plain}
        (out / "result.json").write_text(json.dumps(result, indent=2))
    distributed.barrier()
    return 0


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    sys.exit(main())
