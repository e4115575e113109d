"""Reward controls: training verdicts that carry no information about correctness.

With ``train.reward`` set to a control, the loop grades every *training* sample (the sampled
phases and GRPO's rewards) with a control instead of the verifier; evaluation still uses the
verifier. A run that improves held-out pass@1 under a control shows how much of a gain comes
from training on the model's own samples at all, not from the verifier's signal.

- ``random`` (:class:`RandomControl`): each verdict is a coin flip, p = 0.5. It keeps about
  half of all samples, far more than the verifier does for a weak model, so its gain mixes
  "no signal" with "more self-training" (in the 2026-12-01 benchmark it ran 20 optimizer steps
  to the real loop's 14).
- ``shuffled`` (:class:`ShuffledControl`): the verifier grades the batch, then its verdicts are
  permuted among the batch's samples. Each batch gets exactly as many correct verdicts as the
  verifier gave it, so the control trains on as much data as the real loop would at the same
  pass rate, but which samples are "correct" is unrelated to their content. (Per-prompt caps can
  still keep a few more: shuffled verdicts spread over prompts, real ones cluster on easy ones.)

Both are deterministic: the same batch gets the same verdicts on a resumed run, whose re-run
phases draw the same samples.

Under GRPO's ``train.grpo.truncated: invalid`` a completion cut off by the length cap earns 0
before a control sees the batch (:func:`selfimprove.sampling.grade`): the control randomises the
verdicts of finished completions only. It removes the correctness signal, not the length one,
which the real run has too.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from typing import Sequence

from selfimprove.config import Config
from verifiers.base import Verification
from verifiers.runtime import VerifierRuntime, VerifyItem


def _key(seed: int, item: VerifyItem) -> bytes:
    return f"{seed}\x1f{item.reference!r}\x1f{item.completion}".encode()


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
        ok = zlib.crc32(_key(self.seed, item)) & 1 == 1
        return Verification.graded(ok, None, "random-reward control: the verdict is a coin flip")


class ShuffledControl:
    """The verifier's verdicts on a batch, permuted among the batch's samples."""

    name = "shuffled-control"
    identity = "shuffled-control"

    def __init__(self, runtime: VerifierRuntime, seed: int) -> None:
        self.runtime = runtime
        self.verifier = runtime.verifier
        self.seed = seed

    def verify_batch(self, items: Sequence[VerifyItem], progress: bool = False) -> list[Verification]:
        verdicts = self.runtime.verify_batch(items, progress=progress)
        # Seeded by the batch's content, so a resumed run's re-drawn batch is shuffled the same way.
        batch_key = zlib.crc32(b"\x1e".join(_key(self.seed, item) for item in items))
        order = list(range(len(verdicts)))
        random.Random(batch_key).shuffle(order)
        # The whole verdict moves (score and status: an 'invalid' one stays unrewarded); what the
        # verifier read and said about the other sample would mislead anyone reading the traces.
        note = "shuffled-reward control: this verdict was given to another sample of the batch"
        return [dataclasses.replace(verdicts[j], extracted=None, feedback=note, details=None) for j in order]


#: ``train.reward`` value -> its control; "verifier" is not a control, the runtime grades as it is.
CONTROLS: dict[str, type[RandomControl] | type[ShuffledControl]] = {
    "random": RandomControl, "shuffled": ShuffledControl}


def training_runtime(cfg: Config, runtime: VerifierRuntime) -> VerifierRuntime | RandomControl | ShuffledControl:
    """What grades training samples: ``runtime`` itself, or the control ``train.reward`` names."""
    control = CONTROLS.get(cfg.train.reward)
    return control(runtime, cfg.run.seed) if control else runtime
