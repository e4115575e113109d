"""Sample and grade for the loop's phases, sharded across ranks.

Each rank samples and grades its contiguous share of the requests (``distributed.shard``); the
graded traces are gathered so every rank holds the whole round in request order (rank 0 alone
writes them to the store). In one process this is a plain call.
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Sequence

from rollouts.engine import RolloutEngine, RolloutRequest
from rollouts.trace import Trace
from selfimprove import distributed
from selfimprove.config import Config
from selfimprove.evaluate import grade, sampling_params
from selfimprove.models import LoadedModel
from verifiers.base import Verification
from verifiers.runtime import VerifierRuntime


@dataclasses.dataclass
class PhaseTimes:
    generate_s: float = 0.0
    verify_s: float = 0.0
    tokens: int = 0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.generate_s if self.generate_s else 0.0


def sample_and_grade(policy: LoadedModel, requests: Sequence[RolloutRequest], num_samples: int, cfg: Config,
                     runtime: VerifierRuntime, *, seed: int, round: int, times: PhaseTimes | None = None,
                     random_reward: bool = False) -> list[Trace]:
    times = times if times is not None else PhaseTimes()
    w = distributed.world()
    # Different ranks must not draw the same samples for their (different) prompts' positions.
    engine = RolloutEngine(policy.model, policy.tokenizer, sampling_params(cfg), seed=seed + 1_000_003 * w.rank,
                           policy=policy.name, round=round, progress=False)
    t0 = time.perf_counter()
    local = engine.generate(distributed.shard(requests, w), num_samples=num_samples) if requests else []
    t1 = time.perf_counter()
    if local:
        grade(local, runtime, progress=False)
    t2 = time.perf_counter()
    times.generate_s += t1 - t0
    times.verify_s += t2 - t1
    times.tokens += sum(t.num_tokens for t in local)
    traces = [t for part in distributed.gather_objects(local) for t in part]
    if random_reward:
        coin_flip(traces, seed)
    return traces


def coin_flip(traces: Sequence[Trace], seed: int) -> None:
    """The random-reward control: replace each verdict by a fair coin (in place)."""
    rng = random.Random(seed)
    for t in traces:
        ok = rng.random() < 0.5
        t.verification = Verification.graded(ok, None, "random-reward control: verdict is a coin flip")
        t.verifier = "random-control"
