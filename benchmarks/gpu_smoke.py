"""One rft and one grpo round under DeepSpeed ZeRO-3, checked: the GPU smoke test of the scale-out path.

Run through ``benchmarks/gpu_smoke.sh`` (which launches it with ``launch/torchrun.sh --entry
benchmarks.gpu_smoke``), or by hand::

    bash launch/torchrun.sh --nproc 1 --entry benchmarks.gpu_smoke -- --out runs/gpu-smoke
    bash launch/torchrun.sh --nproc 2 --entry benchmarks.gpu_smoke -- --out runs/gpu-smoke-2 --dry

After each round every rank checks that the policy is still on its own device in the training
dtype (on a GPU: ``cuda:<local rank>``, bfloat16; in ``--dry`` mode on a CPU: ``cpu``, float32)
and records the peak device memory of the round. Rank 0 then writes ``<out>/smoke.json``: those
checks, the per-round throughput metrics of the run (generation and trainer tokens/s, MFU, time
fractions) and held-out pass@1, and exits non-zero when a check failed.

``--dry`` runs the same code paths (ZeRO-3, consolidation, GRPO's gathered rollouts) on the tiny
random model on CPUs with gloo, so the script is exercised by the test suite on machines
without a GPU (tests/launch/test_gpu_smoke.py); its throughput numbers mean nothing there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from selfimprove import distributed
from selfimprove.config import load_config
from selfimprove.train import loop

def overrides(out: Path, dry: bool) -> list[str]:
    common = {
        "run.output_dir": str(out.parent), "run.name": out.name, "run.overwrite": True, "run.seed": 0,
        "train.rounds": 2, "train.schedule": "[rft, grpo]", "train.deepspeed": "configs/deepspeed/zero3.json",
        "train.eval_before": False, "train.prompts_per_round": 16, "train.rft.rationalize.enabled": False,
        "train.grpo.steps_per_round": 2, "train.grpo.num_generations": 4, "train.grpo.prompts_per_step": 2,
        "task.name": "arithmetic", "task.num_train": 32, "task.num_test": 8, "eval.ks": "[1]",
        "sampling.num_samples": 2,
    }
    if dry:
        common |= {"model.name": "tiny-random", "run.device": "cpu", "sampling.max_new_tokens": 8,
                   "verifier.name": "tests.selfimprove.train.toy:starts_with_digit", "verifier.workers": 1}
    else:
        common |= {"model.name": "builtin:smollm2-135m-instruct", "sampling.max_new_tokens": 128}
    return [f"{k}={v}" for k, v in common.items()]


def watch(checks: list[dict]) -> None:
    """Record, after each round's update, where the policy is and the round's peak device memory."""
    train = loop.Loop.train

    def checked(self, round, strategy, data):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        train(self, round, strategy, data)
        param = next(self.policy.model.parameters())
        want = torch.device(f"cuda:{self.world.local_rank}") if torch.cuda.is_available() else torch.device("cpu")
        checks.append({
            "round": round, "strategy": strategy.name, "device": str(param.device), "dtype": str(param.dtype),
            "on_own_device": param.device == want,
            "training_dtype": param.dtype == (torch.bfloat16 if want.type == "cuda" else torch.float32),
            "peak_device_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
        })

    loop.Loop.train = checked


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/gpu-smoke", help="run directory; smoke.json is written into it")
    p.add_argument("--dry", action="store_true", help="tiny random model on CPUs (no GPU needed)")
    args = p.parse_args(argv)
    if not args.dry and not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device; use --dry to exercise the same paths on CPUs", file=sys.stderr)
        return 2
    out = Path(args.out)
    checks: list[dict] = []
    watch(checks)
    history = loop.run_train(load_config(None, overrides(out, args.dry)), quiet=True)
    ok = len(checks) == 2 and all(c["on_own_device"] and c["training_dtype"] for c in checks)
    if distributed.world().is_main:
        metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        throughput = [{k: v for k, v in m.items() if k.startswith("throughput/") or k == "round"}
                      for m in metrics if "throughput/fraction_train" in m]
        summary = {"ok": ok, "dry": args.dry, "world_size": distributed.world().world_size,
                   "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                   "checks": checks, "throughput": throughput, "pass@1": [h.get("pass@1") for h in history]}
        (out / "smoke.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
