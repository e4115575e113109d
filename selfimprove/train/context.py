"""What a strategy's :meth:`~selfimprove.train.strategies.base.Strategy.collect` works with.

A :class:`RoundContext` gives a strategy the train split, per-prompt pass rates, the trace
store, and its round's sampling *phases*, which the strategy runs itself, in order:

    generate = ctx.phase(round, "generate")
    if not generate.committed:                # on --resume a committed phase is not sampled again
        prompts = ctx.round_prompts(seed=generate.seed)
        traces = generate.sample(ctx.requests(prompts), k)
        generate.commit(traces, kept=select(traces))
    ctx.record_pass_rates(generate.traces)    # this run's traces, or those read back from the store

:meth:`SamplingPhase.sample` grades with the *training* runtime (the verifier, or the reward
control under ``train.reward: random | shuffled``); :meth:`SamplingPhase.commit` stores the
traces and marks the phase done (:class:`~selfimprove.train.ledger.Ledger`). A phase interrupted
before its commit runs again from its start with the same seed, so it draws the same samples.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Iterable, Sequence

from rollouts.engine import RolloutRequest, RolloutStats
from rollouts.trace import Trace
from selfimprove.config import Config
from selfimprove.failpoints import failpoint
from selfimprove.models import LoadedModel
from selfimprove.sampling import phase_seed, requests_for, sample_and_grade
from selfimprove.store import TraceStore
from selfimprove.tasks.base import Problem
from selfimprove.train import preemption
from selfimprove.train.curriculum import PassRates, choose_prompts
from selfimprove.train.ledger import Ledger
from selfimprove.train.report import sampling_line, sampling_metrics
from verifiers.runtime import VerifierRuntime


@dataclasses.dataclass
class RoundContext:
    cfg: Config
    train_split: list[Problem]
    rates: PassRates  # latest pass rate per train prompt (rebuilt from the store on resume)
    store: TraceStore
    runtime: VerifierRuntime  # grades training samples (a reward control under train.reward=random|shuffled)
    policy_fn: Callable[[], LoadedModel]  # the current policy (it changes after every update)
    ledger: Ledger  # commits phases and marks them done
    problems: dict[str, Problem] = dataclasses.field(init=False)  # the train split, by id

    def __post_init__(self) -> None:
        self.problems = {p.id: p for p in self.train_split}

    @property
    def policy(self) -> LoadedModel:
        return self.policy_fn()

    def seed(self, round: int, phase: str) -> int:
        return phase_seed(self.cfg.run.seed, round, phase)

    def phase(self, round: int, name: str) -> SamplingPhase:
        """The sampling phase ``name`` of ``round``: committed already (on resume), or to run now."""
        return SamplingPhase(self, round, name)

    def choose(self, n: int | None, *, seed: int, exclude: Iterable[str] = ()) -> list[Problem]:
        """``n`` train prompts from the curriculum's learnable band first (see ``train.curriculum``)."""
        c = self.cfg.train.curriculum
        return choose_prompts(self.train_split, n, self.rates, c.band, enabled=c.enabled, seed=seed,
                              exclude=set(exclude))

    def round_prompts(self, *, seed: int, at_most: int | None = None) -> list[Problem]:
        """The round's prompts: ``train.prompts_per_round`` from the curriculum, or ``at_most`` if fewer."""
        limits = [c for c in (self.cfg.train.prompts_per_round, at_most) if c is not None]
        return self.choose(min(limits) if limits else None, seed=seed)

    def requests(self, problems: Sequence[Problem], *, hint: bool = False) -> list[RolloutRequest]:
        """Prompts for ``problems`` (with the reference as a hint for STaR rationalization)."""
        return requests_for(problems, self.cfg.task, hint=hint)

    def record_pass_rates(self, generated: Sequence[Trace]) -> None:
        """The curriculum's pass rates from the round's first attempts (every strategy's ``generate``)."""
        self.rates.update(generated)


class SamplingPhase:
    """One sampling phase of a round. ``committed``: its ``traces`` and ``kept`` flags are in the
    store (read back on resume); otherwise :meth:`sample`, then :meth:`commit` once."""

    def __init__(self, ctx: RoundContext, round: int, name: str):
        self.ctx, self.round, self.name = ctx, round, name
        self.seed = ctx.seed(round, name)
        self.stats = RolloutStats()  # this phase's generation and grading time
        self.num_samples = 0  # attempts per prompt, as recorded with the traces
        self.traces: list[Trace] = []
        self.kept: list[bool] = []
        ledger = ctx.ledger
        self.committed = ledger.store.has(round, name)
        if self.committed:
            self.traces, self.kept = ledger.store.read(round, name)
            if not ledger.state.done(round, name):  # committed just before a crash: adopt it
                ledger.log(sampling_metrics(name, self.traces, self.kept, self.stats), round, line=f"{round}:{name}")
                ledger.complete(round, name, 0.0)
        self.t0 = time.perf_counter()

    def sample(self, requests: Sequence[RolloutRequest], k: int, *, seed: int | None = None,
               truncated: str = "grade") -> list[Trace]:
        """``k`` graded samples per request, sharded across ranks; ``seed`` defaults to the phase's;
        ``truncated``: how a completion cut off by the length cap is graded (:func:`~selfimprove.sampling.grade`)."""
        self.num_samples = k
        preemption.check(f"round {self.round} {self.name}")
        traces = sample_and_grade(self.ctx.policy, requests, k, self.ctx.cfg.sampling, self.ctx.runtime,
                                  seed=self.seed if seed is None else seed, round=self.round, stats=self.stats,
                                  backend=self.ctx.cfg.rollouts, truncated=truncated)
        failpoint("sample")
        return traces

    def commit(self, traces: list[Trace], kept: Sequence[bool]) -> None:
        """Store the traces with the flags of those the update uses; log the phase; mark it done."""
        if self.committed:
            raise RuntimeError(f"round {self.round}: phase {self.name!r} is committed already")
        ledger = self.ctx.ledger
        ledger.commit(self.round, self.name, traces, kept, self.num_samples)
        failpoint("store-commit")
        seconds = time.perf_counter() - self.t0
        ledger.clock.add_sampling(self.stats, seconds)
        metrics = sampling_metrics(self.name, traces, kept, self.stats)
        ledger.log(metrics | {f"time/{self.name}_s": seconds}, self.round, line=f"{self.round}:{self.name}")
        ledger.complete(self.round, self.name, seconds)
        failpoint("phase-done")
        ledger.console.phase(self.round, self.name, seconds, sampling_line(metrics, self.name))
        ledger.empty.sampled(self.round, self.name, traces)
        self.traces, self.kept, self.committed = traces, list(kept), True
