"""What a strategy's :meth:`~selfimprove.train.strategies.base.Strategy.collect` works with.

A :class:`RoundContext` gives a strategy the train split, per-prompt pass rates, the trace
store, and *phases*: ``ctx.phase(round, name, make)`` runs ``make`` once, commits its traces to
the store, and on ``--resume`` reads them back instead of sampling again (the loop owns that
bookkeeping, so resume works the same for every strategy). Inside ``make`` a strategy samples
with :meth:`RoundContext.sample`, which grades with the *training* runtime: the verifier, or
the random-reward control when ``train.reward`` is ``random``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Sequence

from rollouts.engine import RolloutRequest, RolloutStats
from rollouts.trace import Trace
from selfimprove.config import Config
from selfimprove.models import LoadedModel
from selfimprove.sampling import phase_seed, requests_for, sample_and_grade
from selfimprove.tasks.base import Problem
from selfimprove.train.curriculum import PassRates, choose_prompts
from selfimprove.store import TraceStore
from verifiers.runtime import VerifierRuntime

#: ``make(stats) -> (traces, kept flags, samples per prompt)``: the body of one sampling phase.
Make = Callable[[RolloutStats], "tuple[list[Trace], list[bool], int]"]


@dataclasses.dataclass
class RoundContext:
    cfg: Config
    train_split: list[Problem]
    rates: PassRates  # latest pass rate per train prompt (rebuilt from the store on resume)
    store: TraceStore
    runtime: VerifierRuntime  # grades training samples (a reward control under train.reward=random|shuffled)
    policy_fn: Callable[[], LoadedModel]  # the current policy (it changes after every update)
    phase: Callable[[int, str, Make], "tuple[list[Trace], list[bool]]"]  # commit-or-resume, see above
    problems: dict[str, Problem] = dataclasses.field(init=False)  # the train split, by id

    def __post_init__(self) -> None:
        self.problems = {p.id: p for p in self.train_split}

    @property
    def policy(self) -> LoadedModel:
        return self.policy_fn()

    def seed(self, round: int, phase: str) -> int:
        return phase_seed(self.cfg.run.seed, round, phase)

    def choose(self, n: int | None, *, seed: int, exclude: Iterable[str] = ()) -> list[Problem]:
        """``n`` train prompts from the curriculum's learnable band first (see ``train.curriculum``)."""
        c = self.cfg.train.curriculum
        return choose_prompts(self.train_split, n, self.rates, c.band, enabled=c.enabled, seed=seed,
                              exclude=set(exclude))

    def requests(self, problems: Sequence[Problem], *, hint: bool = False) -> list[RolloutRequest]:
        """Prompts for ``problems`` (with the reference as a hint for STaR rationalization)."""
        return requests_for(problems, self.cfg.task, hint=hint)

    def sample(self, requests: Sequence[RolloutRequest], k: int, *, round: int, seed: int,
               stats: RolloutStats) -> list[Trace]:
        """``k`` graded samples per request, sharded across ranks; ``stats`` accumulates timings."""
        return sample_and_grade(self.policy, requests, k, self.cfg.sampling, self.runtime, seed=seed, round=round,
                                stats=stats, backend=self.cfg.rollouts)

    def generate(self, round: int, k: int,
                 keep: Callable[[list[Trace], list[Problem], RolloutStats], "tuple[list[Trace], list[bool]]"],
                 n: int | None = None) -> tuple[list[Trace], list[bool]]:
        """The ``generate`` phase every strategy starts with: ``train.prompts_per_round`` prompts from
        the curriculum (fewer when the strategy needs only ``n``), ``k`` attempts each;
        ``keep(traces, prompts, stats)`` returns the traces (it may add some) and which of them the
        update uses. Updates the pass rates."""

        def make(stats: RolloutStats):
            seed = self.seed(round, "generate")
            limits = [c for c in (self.cfg.train.prompts_per_round, n) if c is not None]
            prompts = self.choose(min(limits) if limits else None, seed=seed)
            traces, kept = keep(self.sample(self.requests(prompts), k, round=round, seed=seed, stats=stats), prompts, stats)
            return traces, kept, k

        traces, kept = self.phase(round, "generate", make)
        self.rates.update(traces)
        return traces, kept
