"""The random-reward control: training verdicts that carry no information about correctness.

With ``train.reward: random`` the loop grades every *training* sample (the sampled phases and
GRPO's rewards) with :class:`RandomControl` instead of the verifier; evaluation still uses the
verifier. A run that improves held-out pass@1 under this control shows how much of a gain
comes from training on the model's own samples at all, not from the verifier's signal.

Each verdict is a coin flip seeded by (run seed, reference, completion): p = 0.5 independent of
correctness, and the same verdict for the same completion on a resumed run (a re-run phase
draws the same samples, so it also gets the same verdicts).
"""

from __future__ import annotations

import zlib
from typing import Sequence

from selfimprove.config import Config
from verifiers.base import Verification
from verifiers.runtime import VerifierRuntime, VerifyItem


class RandomControl:
    """Stands in for a :class:`~verifiers.runtime.VerifierRuntime` (the methods the loop uses)."""

    name = "random-control"
    identity = "random-control"

    def __init__(self, runtime: VerifierRuntime, seed: int) -> None:
        self.verifier = runtime.verifier  # for the fields the TRL reward adapter forwards
        self.seed = seed

    def verify_batch(self, items: Sequence[VerifyItem], progress: bool = False) -> list[Verification]:
        return [self._flip(item) for item in items]

    def _flip(self, item: VerifyItem) -> Verification:
        key = f"{self.seed}\x1f{item.reference!r}\x1f{item.completion}".encode()
        ok = zlib.crc32(key) & 1 == 1
        return Verification.graded(ok, None, "random-reward control: the verdict is a coin flip")


def training_runtime(cfg: Config, runtime: VerifierRuntime) -> VerifierRuntime | RandomControl:
    """What grades training samples: ``runtime`` itself, or the control when ``train.reward`` is random."""
    return RandomControl(runtime, cfg.run.seed) if cfg.train.reward == "random" else runtime
