"""Per-rank memory of parameters, gradients and optimizer state: 1 vs 2 ranks under ZeRO-2 and ZeRO-3.

    python benchmarks/zero_memory.py                    # ~110M-parameter Llama, CPU/gloo, a few minutes
    python benchmarks/zero_memory.py --layers 2 --hidden 128 --vocab 1024   # a quick smoke run

The driver starts one ``torchrun --nproc-per-node W`` per (stage, W) on this machine; each worker
builds a Llama from a config (random weights, fp32: the CPU default), wraps it with
``deepspeed.initialize`` under the shipped ``configs/deepspeed/zero{2,3}.json`` (their ``auto``
values filled the way transformers fills them), runs one forward/backward/step on a 16-token
batch, and counts bytes of the tensors DeepSpeed keeps on its rank:

- parameters: the module's weights as this rank holds them (full under ZeRO-2; this rank's
  partition ``ds_tensor``, plus any parameters under the persistence threshold, under ZeRO-3);
- gradients: the gradient partition the optimizer consumes (``.grad`` of its flat fp32 master
  partitions, read by an optimizer step pre-hook);
- optimizer state: Adam's ``exp_avg``/``exp_avg_sq`` for this rank's partition, plus the fp32
  master partition where it is a separate copy of the weights (storage shared with the weights
  is counted once, as parameters; DeepSpeed 0.19 keeps a copy under both stages here).

What it does not count: transient communication buffers (``reduce_bucket_size``,
prefetch/all-gather buckets), activations, and allocator overheads; so it is the steady-state
model + optimizer footprint, not peak RSS. In fp32 training DeepSpeed's master copy duplicates
the fp32 weights; with bf16 weights (GPU) the parameter column halves and the rest stays.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = {2: REPO / "configs/deepspeed/zero2.json", 3: REPO / "configs/deepspeed/zero3.json"}


def resolve_auto(config: dict, hidden: int, world_size: int) -> dict:
    """The config with every ``auto`` replaced, following transformers' rules for the Trainer."""
    filled = {"train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1, "train_batch_size": world_size,
              "gradient_clipping": 1.0}
    config = {**config, **{k: v for k, v in filled.items() if config.get(k) == "auto"}}
    for section in ("bf16", "fp16"):
        if section in config:
            config[section] = {**config[section], "enabled": False}
    opt = dict(config["optimizer"]["params"])
    opt.update({k: v for k, v in {"lr": 1e-4, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}.items()
                if opt.get(k) == "auto"})
    config["optimizer"] = {**config["optimizer"], "params": opt}
    zero = dict(config["zero_optimization"])
    rules = {"reduce_bucket_size": hidden * hidden, "stage3_prefetch_bucket_size": int(0.9 * hidden * hidden),
             "stage3_param_persistence_threshold": 10 * hidden}
    zero.update({k: v for k, v in rules.items() if zero.get(k) == "auto"})
    config["zero_optimization"] = zero
    left = [k for k, v in _walk(config) if v == "auto"]
    if left:
        raise ValueError(f"unresolved 'auto' in the DeepSpeed config: {left}")
    return config


def _walk(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _walk(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:
        if t is None or t.numel() == 0:
            continue
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), t.numel())
        if key not in seen:  # views of one flat buffer are counted once
            seen.add(key)
            total += t.numel() * t.element_size()
    return total


def worker(args: argparse.Namespace) -> None:
    """One rank: build, wrap, step once, measure; rank 0 prints one JSON line for all ranks."""
    import deepspeed
    import torch
    import torch.distributed as dist
    from transformers import LlamaConfig, LlamaForCausalLM

    from selfimprove import distributed

    distributed.skip_deepspeed_cpu_kernels()
    deepspeed.init_distributed(dist_backend=distributed.backend())
    world = dist.get_world_size()
    config = LlamaConfig(vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.hidden * 8 // 3,
                         num_hidden_layers=args.layers, num_attention_heads=args.hidden // 64 or 1,
                         num_key_value_heads=args.hidden // 64 or 1, tie_word_embeddings=True)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    ds_config = resolve_auto(json.loads(Path(STAGES[args.stage]).read_text()), args.hidden, world)
    engine, optimizer, _, _ = deepspeed.initialize(model=model, model_parameters=model.parameters(), config=ds_config)
    basic = optimizer.optimizer  # the torch AdamW DeepSpeed drives, over flat fp32 master partitions
    # ZeRO-3 hands the master partitions to the optimizer only for the duration of step(), so they
    # and their gradients are read in a step pre-hook.
    seen: dict[str, list] = {}
    basic.register_step_pre_hook(lambda opt, a, k: seen.update(
        master=[p for g in opt.param_groups for p in g["params"]],
        grads=[p.grad for g in opt.param_groups for p in g["params"]]))

    ids = torch.randint(0, args.vocab, (1, 16))
    loss = engine(input_ids=ids, labels=ids).loss
    engine.backward(loss)
    engine.step()

    weights = [getattr(p, "ds_tensor", p) for p in engine.module.parameters()]
    params = _bytes(weights)
    # DeepSpeed may let an fp32 model's partition double as the master copy; storage shared with
    # the weights is counted once, as parameters.
    shared = {t.untyped_storage().data_ptr() for t in weights if t.numel()}
    master = _bytes(t for t in seen["master"] if t.untyped_storage().data_ptr() not in shared)
    adam = _bytes(v for state in basic.state.values() for v in state.values() if torch.is_tensor(v) and v.dim() > 0)
    mine = {"rank": dist.get_rank(), "params": params, "grads": _bytes(seen["grads"]), "optimizer": master + adam,
            "master_copy": master}
    everyone = distributed.gather_objects(mine)
    if dist.get_rank() == 0:
        print("ZERO_MEMORY " + json.dumps({"stage": args.stage, "world_size": world, "n_params": n_params,
                                            "ranks": everyone}), flush=True)
    dist.destroy_process_group()


def run_case(stage: int, world: int, model_args: list[str], log_dir: Path) -> dict:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(world),
           str(Path(__file__).resolve()), "--worker", "--stage", str(stage), *model_args]
    env = dict(os.environ, OMP_NUM_THREADS="1", SELFIMPROVE_DIST_BACKEND=os.environ.get("SELFIMPROVE_DIST_BACKEND", "gloo"))
    log = log_dir / f"zero{stage}-w{world}.log"
    done = subprocess.run(cmd, cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    lines = [line for line in log.read_text().splitlines() if line.startswith("ZERO_MEMORY ")]
    if done.returncode or not lines:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise SystemExit(f"zero_memory: ZeRO-{stage} with {world} rank(s) failed (exit {done.returncode}); {log}:\n{tail}")
    return json.loads(lines[-1].removeprefix("ZERO_MEMORY "))


def table(results: list[dict]) -> str:
    mib = 1024 * 1024
    base = {r["stage"]: max(r["ranks"], key=lambda x: x["params"] + x["optimizer"]) for r in results if r["world_size"] == 1}
    rows = ["| ZeRO | ranks | params MiB/rank | grads MiB/rank | optimizer MiB/rank | params+optimizer vs 1 rank |",
            "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        worst = max(r["ranks"], key=lambda x: x["params"] + x["optimizer"])  # the most loaded rank
        ref = base[r["stage"]]
        ratio = (worst["params"] + worst["optimizer"]) / (ref["params"] + ref["optimizer"])
        rows.append(f"| {r['stage']} | {r['world_size']} | {worst['params'] / mib:.1f} | {worst['grads'] / mib:.1f} | "
                    f"{worst['optimizer'] / mib:.1f} | {ratio:.3f}x |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--stage", type=int, choices=sorted(STAGES), help=argparse.SUPPRESS)
    p.add_argument("--json", help="also write the raw per-rank numbers to this file")
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    model_args = ["--layers", str(args.layers), "--hidden", str(args.hidden), "--vocab", str(args.vocab)]
    with tempfile.TemporaryDirectory(prefix="zero-memory-") as tmp:
        results = [run_case(stage, world, model_args, Path(tmp)) for stage in sorted(STAGES) for world in (1, 2)]
    print(f"Llama, {results[0]['n_params'] / 1e6:.1f}M parameters, fp32, torch AdamW; per rank, the most loaded rank:")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
