"""Sample and grade: the one path from problems to graded traces, for ``eval`` and every phase.

:func:`sample_and_grade` shards the requests across ranks (``distributed.shard``): each rank
samples and grades its contiguous share, and the graded traces are gathered so every rank holds
the whole batch in request order (rank 0 alone writes them anywhere). In one process it is a
plain call. Sampling parameters come from the ``sampling`` config section, which *is*
:class:`rollouts.engine.SamplingParams`; only the group size varies by phase.

The engine comes from :func:`rollouts.backends.build_engine` with the ``rollouts`` section
(``hf`` or ``vllm``). A vLLM engine is started once per process and kept across calls and
rounds; it re-loads its weights in place whenever the policy's name changes (the loop renames
the policy to its checkpoint after every update), and stamps that name on every trace.
"""

from __future__ import annotations

import dataclasses
import time
import zlib
from typing import Any, Sequence

from rollouts.backends import build_engine
from rollouts.config import RolloutsConfig
from rollouts.engine import RolloutRequest, RolloutStats, SamplingParams
from rollouts.trace import Trace
from selfimprove.failpoints import failpoint
from selfimprove import distributed
from selfimprove.config import TaskConfig
from selfimprove.models import LoadedModel
from selfimprove.prompts import build_messages
from selfimprove.tasks.base import Problem
from verifiers.base import Verification
from verifiers.runtime import VerifierRuntime, VerifyItem


def phase_seed(seed: int, round: int, phase: str) -> int:
    """A stable seed per (run seed, round, phase): not Python's salted hash()."""
    return zlib.crc32(f"{seed}/{round}/{phase}".encode()) & 0x7FFFFFFF


def requests_for(problems: Sequence[Problem], task: TaskConfig, *, hint: bool = False) -> list[RolloutRequest]:
    return [
        RolloutRequest(problem_id=p.id, messages=build_messages(p, task, hint=hint), reference=p.reference,
                       task=p.task, fields=dict(p.fields), hint=hint)
        for p in problems
    ]


def sampling_record(params: SamplingParams, num_samples: int) -> dict[str, Any]:
    """The sampling parameters of a phase, as stored with its traces."""
    return dataclasses.asdict(dataclasses.replace(params, num_samples=num_samples))


#: How :func:`grade` may grade a completion cut off by the length cap (``train.grpo.truncated``).
TRUNCATED = ("invalid", "grade")
#: A cut-off completion's grade under ``truncated="invalid"``. The feedback is model-facing (refinement
#: shows it to the policy); ``details`` tells it apart from a verifier's verdict.
CUT_OFF = Verification(score=0.0, status="invalid", feedback="The answer was cut off by the length cap before it "
                       "reached a final answer.", details={"cut_off": True})


def grade(traces: Sequence[Trace], runtime: VerifierRuntime, *, progress: bool = False,
          truncated: str = "grade") -> None:
    """Attach a verification to every trace (in place).

    ``truncated``: how a completion the length cap cut off is graded. ``grade``: the verifier
    grades its partial text, as evaluation does (and as TRL's reward functions do). ``invalid``:
    it is :data:`CUT_OFF` without calling the verifier. Training uses ``invalid`` for GRPO's
    rewards: graded, a cut-off text is rewarded for the answer it happened to state before
    rambling on, and nothing teaches the policy to stop (see ``train.grpo.truncated``).
    """
    if truncated not in TRUNCATED:
        raise ValueError(f"truncated must be one of {', '.join(TRUNCATED)}, got {truncated!r}")
    cut = [truncated == "invalid" and t.finish_reason == "length" for t in traces]
    todo = [t for t, c in zip(traces, cut) if not c]
    items = [VerifyItem(t.completion, t.reference, t.fields) for t in todo]
    verdicts = iter(runtime.verify_batch(items, progress=progress) if items else [])
    for trace, c in zip(traces, cut):
        trace.verification = CUT_OFF if c else next(verdicts)
        trace.verifier = runtime.identity


def sample_and_grade(policy: LoadedModel, requests: Sequence[RolloutRequest], num_samples: int,
                     params: SamplingParams, runtime: VerifierRuntime, *, seed: int, round: int,
                     backend: RolloutsConfig, stats: RolloutStats | None = None, truncated: str = "grade") -> list[Trace]:
    """``num_samples`` graded completions per request, in request order, on every rank.

    ``stats`` (optional) accumulates this rank's sequences, tokens, generation and grading time.
    ``backend``: the ``rollouts`` config section (``hf`` or ``vllm``). ``truncated``: see :func:`grade`.
    """
    stats = stats if stats is not None else RolloutStats()
    w = distributed.world()
    # Different ranks must not draw the same samples for their (different) prompts' positions.
    # The bar shows on rank 0 only, and only on a terminal (tqdm's disable=None).
    engine = build_engine(policy.model, policy.tokenizer, params, backend, model_dir=policy.path,
                          seed=distributed.rank_seed(seed, w), policy=policy.name, round=round,
                          progress=None if w.is_main else False, stats=stats, dtype=policy.compute_dtype)
    local = engine.generate(distributed.shard(requests, w), num_samples=num_samples) if requests else []
    failpoint("verify")
    t0 = time.perf_counter()
    if local:
        grade(local, runtime, truncated=truncated)
    stats.verify_s += time.perf_counter() - t0
    return [t for part in distributed.gather_objects(local) for t in part]
