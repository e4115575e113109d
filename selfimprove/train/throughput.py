"""Per-round throughput: where the round's time went, tokens/s, and a model-FLOPs-utilisation estimate.

Logged once per round (``throughput/*`` in ``metrics.jsonl``):

- ``fraction_generate`` / ``fraction_verify`` / ``fraction_train`` / ``fraction_eval``: shares
  of the round's wall-clock time (sampling phases are split into generation and verification;
  what is left, e.g. checkpoint saving and commits, is ``fraction_other``);
- ``generate_tokens_per_s``: completion tokens sampled per second of generation, this rank;
- ``train_tokens_per_s``: tokens the trainer processed (TRL's ``num_tokens``, all ranks) per
  second of update;
- ``mfu``: 6 x parameters x trained tokens / update seconds / peak FLOP/s of all ranks. The 6N
  rule counts a forward and a backward pass of a dense model and ignores attention and GRPO's
  extra forward passes (reference and old-policy log-probabilities), so it is a lower bound
  for GRPO. The peak is ``train.peak_tflops`` per device, or looked up for known GPUs; with
  neither (e.g. on a CPU), no MFU is logged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from rollouts.engine import RolloutStats

#: Dense bf16 tensor-core peak TFLOP/s per device, by substring of torch.cuda.get_device_name().
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0}


def detected_peak_tflops() -> float | None:
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((tflops for key, tflops in PEAK_TFLOPS.items() if key in name), None)


@dataclasses.dataclass
class RoundClock:
    """Seconds and tokens of one round, filled in by the loop's phases: ``sampling`` sums the
    generation and grading counters of its sampling phases; the rest of those phases is ``other_s``."""

    sampling: RolloutStats = dataclasses.field(default_factory=RolloutStats)
    train_s: float = 0.0
    eval_s: float = 0.0
    other_s: float = 0.0
    trained_tokens: float = 0.0

    def add_sampling(self, stats: RolloutStats, seconds: float) -> None:
        """A sampling phase of ``seconds``: its generation and grading counters, the rest as other."""
        self.sampling.add(stats)
        self.other_s += max(0.0, seconds - stats.generate_s - stats.verify_s)

    def metrics(self, *, parameters: int, world_size: int, peak_tflops: float | None) -> dict[str, Any]:
        parts = {"generate": self.sampling.generate_s, "verify": self.sampling.verify_s, "train": self.train_s,
                 "eval": self.eval_s, "other": self.other_s}
        total = sum(parts.values())
        out: dict[str, Any] = {}
        if total > 0:
            out.update({f"throughput/fraction_{part}": seconds / total for part, seconds in parts.items()})
        if self.sampling.generate_s > 0:
            out["throughput/generate_tokens_per_s"] = self.sampling.tokens_per_s
        if self.train_s > 0 and self.trained_tokens > 0:
            out["throughput/train_tokens_per_s"] = self.trained_tokens / self.train_s
            peak = peak_tflops if peak_tflops is not None else detected_peak_tflops()
            if peak:
                out["throughput/mfu"] = 6 * parameters * self.trained_tokens / self.train_s / (peak * 1e12 * world_size)
        return out


def trained_tokens(log_history: list[dict[str, Any]]) -> float:
    """Tokens the trainer processed: TRL logs a running ``num_tokens`` (summed over ranks)."""
    counts = [e["num_tokens"] for e in log_history if isinstance(e.get("num_tokens"), (int, float))]
    return float(counts[-1]) if counts else 0.0
