"""Per-prompt pass rates across rounds, prompt selection from the learnable band, and
reward-variance checks of groups (for GRPO's dynamic sampling).

A prompt's pass rate is the fraction of correct attempts in the latest round that sampled it.
It is *learnable* when ``low < rate < high``; never-tried prompts count as learnable.
Each round draws learnable prompts first (seeded shuffle) and fills any remainder with the
others, so a small pool never starves the round.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Sequence

from rollouts.trace import Trace
from selfimprove.metrics import group_by_problem
from selfimprove.tasks.base import Problem


@dataclasses.dataclass
class PassRates:
    rates: dict[str, float] = dataclasses.field(default_factory=dict)  # problem id -> latest pass rate
    tries: dict[str, int] = dataclasses.field(default_factory=dict)  # problem id -> rounds it was sampled
    rounds: set[int] = dataclasses.field(default_factory=set)  # rounds already counted

    def update(self, traces: Sequence[Trace]) -> None:
        """Count a round's first attempts, once: on ``--resume`` the loop rebuilds the rates from the
        store and the round's own collect records its traces again; counting them twice made a
        resumed run choose other prompts than an uninterrupted one (``tries`` orders the choice)."""
        round = min((t.round for t in traces), default=None)
        if round in self.rounds:
            return
        if round is not None:
            self.rounds.add(round)
        for pid, group in group_by_problem(traces).items():
            self.rates[pid] = sum(t.verification.correct for t in group) / len(group)
            self.tries[pid] = self.tries.get(pid, 0) + 1

    def learnable(self, pid: str, band: Sequence[float]) -> bool:
        if pid not in self.rates:
            return True
        low, high = band
        return low < self.rates[pid] < high

    def band_fraction(self, band: Sequence[float]) -> float:
        """Fraction of tried prompts currently in the band (a curriculum health metric)."""
        if not self.rates:
            return 1.0
        return sum(self.learnable(p, band) for p in self.rates) / len(self.rates)


def choose_prompts(pool: Sequence[Problem], n: int | None, rates: PassRates, band: Sequence[float], *,
                   enabled: bool, seed: int, exclude: set[str] = frozenset()) -> list[Problem]:
    """``n`` prompts (all when None): learnable ones first, the others only to fill."""
    rng = random.Random(seed)
    candidates = [p for p in pool if p.id not in exclude]
    rng.shuffle(candidates)
    if enabled:
        # Within each tier, prompts tried fewer times go first, so the whole pool gets visited.
        first = sorted((p for p in candidates if rates.learnable(p.id, band)), key=lambda p: rates.tries.get(p.id, 0))
        rest = sorted((p for p in candidates if not rates.learnable(p.id, band)), key=lambda p: rates.tries.get(p.id, 0))
        candidates = first + rest
    return candidates if n is None else candidates[:n]


def has_variance(group: Sequence[Trace]) -> bool:
    return len({t.verification.score for t in group}) > 1


def split_by_variance(traces: Sequence[Trace]) -> tuple[dict[str, list[Trace]], dict[str, list[Trace]]]:
    """(groups with reward variance, groups without), keyed by problem id."""
    groups = group_by_problem(traces)
    varied = {pid: g for pid, g in groups.items() if has_variance(g)}
    flat = {pid: g for pid, g in groups.items() if not has_variance(g)}
    return varied, flat
