"""One rft and one grpo round under DeepSpeed ZeRO-3, checked: the GPU smoke test of the scale-out path.

Run through ``benchmarks/gpu_smoke.sh`` (which launches it with ``launch/torchrun.sh --entry
benchmarks.gpu_smoke``), or by hand::

    bash launch/torchrun.sh --nproc 1 --entry benchmarks.gpu_smoke -- --out runs/gpu-smoke
    bash launch/torchrun.sh --nproc 2 --entry benchmarks.gpu_smoke -- --out runs/gpu-smoke-2 --dry

The run is named as a user's is (no ``run.name``: rank 0 names it), in a fresh ``--out``. After
each round every rank records: its policy's device (on a GPU ``cuda:<local rank>``, on a CPU
``cpu``) and dtype (float32 master weights; the policy computes in ``model.dtype``, bfloat16 on
a GPU and in ``--dry`` mode too), the optimizer steps the round took (a grpo round must take
``train.grpo.steps_per_round`` on every rank), its run directory, and the round's peak device
memory. Rank 0 gathers every rank's records and writes ``<out>/smoke.json``: those checks, that
exactly one run directory exists, that the store holds every rank's grpo rollouts
(``steps x prompts_per_step x ranks x num_generations`` with the cached ones), the per-round
throughput metrics and held-out pass@1; it exits non-zero when a check failed. ``--vllm`` samples
with ``rollouts.backend=vllm`` (``gpu_smoke.sh`` adds a run with it when vLLM imports).

``--dry`` runs the same code paths (ZeRO-3 in bf16, consolidation of the float32 masters, GRPO's
gathered rollouts) on the tiny random model on CPUs with gloo, so the script is exercised by the
test suite on machines without a GPU (tests/launch/test_gpu_smoke.py); its throughput numbers
mean nothing there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from selfimprove import distributed, rundir
from selfimprove.config import load_config
from selfimprove.train import loop

GRPO = {"steps_per_round": 2, "num_generations": 4, "prompts_per_step": 2}


def overrides(out: Path, dry: bool, vllm: bool) -> list[str]:
    common = {
        "run.output_dir": str(out), "run.seed": 0, "model.dtype": "bfloat16",
        "train.rounds": 2, "train.schedule": "[rft, grpo]", "train.deepspeed": "configs/deepspeed/zero3.json",
        "train.eval_before": False, "train.prompts_per_round": 16, "train.rft.rationalize.enabled": False,
        **{f"train.grpo.{k}": v for k, v in GRPO.items()},
        "task.name": "arithmetic", "task.num_train": 32, "task.num_test": 8, "eval.ks": "[1]",
        "sampling.num_samples": 2,
    }
    if dry:
        common |= {"model.name": "tiny-random", "run.device": "cpu", "sampling.max_new_tokens": 8,
                   "verifier.name": "tests.support:starts_with_digit", "verifier.workers": 1,
                   "train.empty_rounds_limit": 0}  # a random model may verify nothing: warn, do not stop
    else:
        common |= {"model.name": "builtin:smollm2-135m-instruct", "sampling.max_new_tokens": 128}
    if vllm:
        common |= {"rollouts.backend": "vllm"}
    return [f"{k}={v}" for k, v in common.items()]


def watch(checks: list[dict]) -> None:
    """Record, after each round's update, where the policy is, its steps and the round's peak device memory."""
    train = loop.Loop.train

    def checked(self, round, strategy, data):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        steps_before = self.state.global_step
        train(self, round, strategy, data)
        param = next(self.policy.model.parameters())
        want = torch.device(f"cuda:{self.world.local_rank}") if torch.cuda.is_available() else torch.device("cpu")
        steps = self.state.global_step - steps_before
        checks.append({
            "rank": self.world.rank, "round": round, "strategy": strategy.name, "run_dir": str(self.run_dir),
            "device": str(param.device), "dtype": str(param.dtype), "steps": steps,
            "on_own_device": param.device == want, "master_weights_fp32": param.dtype == torch.float32,
            "configured_steps": strategy.name != "grpo" or steps == GRPO["steps_per_round"],
            "peak_device_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
        })

    loop.Loop.train = checked


def store_checks(run_dir: Path, world_size: int) -> dict:
    """Every rank's grpo rollouts are in the store: fresh + served from the generate phase = all trained on,
    plus the candidate groups of per-step refills (a swapped-in candidate replaces a group that is then not
    trained on, so the candidates count once either way)."""
    import pyarrow.parquet as pq

    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    (grpo,) = [m for m in metrics if "train/sampled_fresh" in m]
    stored = pq.read_table(run_dir / "traces" / "round-002" / "rollouts.parquet").num_rows
    want = GRPO["steps_per_round"] * GRPO["prompts_per_step"] * world_size * GRPO["num_generations"]
    g = GRPO["num_generations"]
    trained = stored + grpo["train/served_cached"] - g * grpo["dynamic/candidates"]
    return {"rollouts_stored": stored, "rollouts_served_cached": grpo["train/served_cached"], "rollouts_trained": want,
            "all_ranks_rollouts": stored == grpo["train/sampled_fresh"] and trained == want}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/gpu-smoke", help="a fresh directory; the run goes inside, smoke.json beside it")
    p.add_argument("--dry", action="store_true", help="tiny random model on CPUs (no GPU needed)")
    p.add_argument("--vllm", action="store_true", help="sample with rollouts.backend=vllm")
    args = p.parse_args(argv)
    if not args.dry and not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device; use --dry to exercise the same paths on CPUs", file=sys.stderr)
        return 2
    out = Path(args.out)
    checks: list[dict] = []
    watch(checks)
    cfg = rundir.name_unnamed(load_config(None, overrides(out, args.dry, args.vllm)), "gpu-smoke")  # as the CLI does
    history = loop.run_train(cfg, quiet=True)
    w = distributed.world()
    checks = [c for part in distributed.gather_objects(checks) for c in part]
    if not w.is_main:
        return 0
    run_dirs = sorted(p.name for p in out.iterdir() if p.is_dir())
    store = store_checks(out / run_dirs[0], w.world_size) if len(run_dirs) == 1 else {"all_ranks_rollouts": False}
    ok = (len(checks) == 2 * w.world_size and len(run_dirs) == 1 and len({c["run_dir"] for c in checks}) == 1
          and store["all_ranks_rollouts"]
          and all(c["on_own_device"] and c["master_weights_fp32"] and c["configured_steps"] for c in checks))
    metrics = [json.loads(line) for line in (out / run_dirs[0] / "metrics.jsonl").read_text().splitlines()]
    throughput = [{k: v for k, v in m.items() if k.startswith("throughput/") or k == "round"}
                  for m in metrics if "throughput/fraction_train" in m]
    summary = {"ok": ok, "dry": args.dry, "vllm": args.vllm, "world_size": w.world_size, "run_dirs": run_dirs,
               "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
               "checks": checks, "store": store, "throughput": throughput,
               "pass@1": [h.get("pass@1") for h in history]}
    (out / "smoke.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
