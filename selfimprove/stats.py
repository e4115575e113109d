"""Bootstrap confidence intervals over problems, paired where two scores share the problems.

Every arm of a benchmark is scored on the same held-out problems, so the difference between two
arms (or an arm's gain over its start) is taken *per problem* and the problems are resampled
with replacement: the problem-to-problem spread that both sides share cancels, and what is left
is the uncertainty of the difference itself. With ``strata`` (e.g. the task family of each
problem) each stratum is resampled on its own, so every resample keeps the families' sizes and
an "overall" score stays the same mixture.

    gain = paired_difference(after, before, strata=families)   # an Interval
    print(gain)                     # +0.120 [+0.065, +0.175] (95%)
    gain.excludes_zero()            # True: the claim "it improved" holds at this level

Limits: percentile intervals (not BCa), which undercover a little for small samples and for
means near 0 or 1; problems are the only source of variance resampled, so seed-to-seed variance
of training is *not* in these intervals (one training run per arm: a difference can be real for
this run and still not reproduce with another seed).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

DEFAULT_RESAMPLES = 10_000


@dataclasses.dataclass(frozen=True)
class Interval:
    estimate: float  # the statistic on the sample itself
    low: float
    high: float
    level: float = 0.95
    n: int = 0  # problems

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "excludes_zero": self.excludes_zero()}

    def __str__(self) -> str:
        return f"{self.estimate:+.3f} [{self.low:+.3f}, {self.high:+.3f}] ({self.level:.0%})"


def bootstrap_mean(values: Sequence[float], *, strata: Sequence[Any] | None = None,
                   resamples: int = DEFAULT_RESAMPLES, level: float = 0.95, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean of ``values`` (one value per problem)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"bootstrap: need a non-empty 1-d sequence of per-problem values, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"bootstrap: level must be in (0, 1), got {level}")
    if resamples < 1:
        raise ValueError(f"bootstrap: resamples must be >= 1, got {resamples}")
    groups = [np.arange(len(x))] if strata is None else _strata_indices(strata, len(x))
    rng = np.random.default_rng(seed)
    sums = np.zeros(resamples)
    for idx in groups:  # each stratum resampled on its own: its size is the same in every resample
        draws = rng.integers(0, len(idx), size=(resamples, len(idx)))  # [R, n_s]
        sums += x[idx][draws].sum(axis=1)
    means = sums / len(x)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(x.mean()), float(low), float(high), level, len(x))


def paired_difference(a: Sequence[float], b: Sequence[float], *, strata: Sequence[Any] | None = None,
                      resamples: int = DEFAULT_RESAMPLES, level: float = 0.95, seed: int = 0) -> Interval:
    """Interval of mean(a - b), where ``a[i]`` and ``b[i]`` are scores of the same problem ``i``."""
    if len(a) != len(b):
        raise ValueError(f"paired_difference: {len(a)} scores vs {len(b)}; pair them by problem first")
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return bootstrap_mean(diff, strata=strata, resamples=resamples, level=level, seed=seed)


def _strata_indices(strata: Sequence[Any], n: int) -> list[np.ndarray]:
    if len(strata) != n:
        raise ValueError(f"bootstrap: {len(strata)} strata labels for {n} values")
    labels: dict[Any, list[int]] = {}
    for i, s in enumerate(strata):
        labels.setdefault(s, []).append(i)
    return [np.asarray(v) for _, v in sorted(labels.items(), key=lambda kv: str(kv[0]))]
