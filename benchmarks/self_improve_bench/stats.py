"""Bootstrap confidence intervals over problems, paired where two scores share the problems.

Every arm of a benchmark is scored on the same held-out problems, so the difference between two
arms (or an arm's gain over its start) is taken *per problem* and the problems are resampled
with replacement: the problem-to-problem spread that both sides share cancels, and what is left
is the uncertainty of the difference itself. With ``strata`` (e.g. the task family of each
problem) each stratum is resampled on its own, so every resample keeps the families' sizes and
an "overall" score stays the same mixture.

Two more sources of variance can be resampled, where a benchmark has them:

- ``clusters``: problems that are not independent (instances of one code template pass or fail
  together: a policy that learns a template's trick solves all its instances) are resampled as
  whole clusters, so the interval is as wide as the number of clusters warrants, not the number
  of problems.
- several training runs (a 2-d ``values``, one row per run, e.g. one seed each, all scored on the
  same problems): runs are resampled too, so seed-to-seed variance of training is in the interval
  and the estimate is the mean over runs. Strata combine with runs; two multi-run arms are
  compared with the problems resampled together and each arm's runs on their own.

    gain = paired_difference(after, before, strata=families)   # an Interval
    print(gain)                     # +0.120 [+0.065, +0.175] (95%)
    gain.excludes_zero()            # True: the claim "it improved" holds at this level
    paired_difference(runs_after, before, clusters=templates)  # [runs, problems] vs [problems]
    paired_difference(runs_ours, runs_peer, strata=families)   # [runs, problems] vs [runs', problems]

Limits: percentile intervals (not BCa), which undercover a little for small samples and for
means near 0 or 1. With a single run per arm, seed-to-seed variance of training is *not* in the
interval (a difference can be real for this run and still not reproduce with another seed); with
few runs (2-3) the run-level resampling is coarse.
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
    clusters: int | None = None  # independent units resampled, where problems were clustered
    runs: int = 1  # training runs averaged (and resampled, when more than one); of a difference: the fewer side's

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def __neg__(self) -> "Interval":
        """The interval of the negated statistic (b - a from a - b)."""
        return dataclasses.replace(self, estimate=-self.estimate, low=-self.high, high=-self.low)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "excludes_zero": self.excludes_zero()}

    def __str__(self) -> str:
        return f"{self.estimate:+.3f} [{self.low:+.3f}, {self.high:+.3f}] ({self.level:.0%})"


def negated(d: dict[str, Any]) -> dict[str, Any]:
    """An interval as :meth:`Interval.to_dict` wrote it, of the negated statistic (b - a from a - b)."""
    return {**d, "estimate": 0.0 - d["estimate"], "low": 0.0 - d["high"], "high": 0.0 - d["low"]}  # 0.0 - x: no -0.0


def bootstrap_mean(values: Sequence[float] | Sequence[Sequence[float]], *, strata: Sequence[Any] | None = None,
                   clusters: Sequence[Any] | None = None, resamples: int = DEFAULT_RESAMPLES,
                   level: float = 0.95, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean of ``values`` (one value per problem, or one row of
    per-problem values per training run), resampling problems (or ``clusters`` of them) and runs."""
    x = _checked(values, level, resamples)
    if strata is not None and clusters is not None:
        raise ValueError("bootstrap: strata with clusters are not supported; pass one")
    rng = np.random.default_rng(seed)
    if x.ndim == 1 and clusters is None:
        return _problem_bootstrap(x, strata, rng, resamples, level)
    runs = x if x.ndim == 2 else x[None, :]
    units, unit_draws = _unit_draws(rng, resamples, runs.shape[1], strata, clusters)
    means = _resampled_means(runs, units, unit_draws, _draw_counts(rng, resamples, runs.shape[0]))
    return _interval(float(runs.mean()), means, level, runs.shape[1],
                     len(units) if clusters is not None else None, runs.shape[0])


def _checked(values: Any, level: float, resamples: int) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim not in (1, 2) or x.size == 0:
        raise ValueError(f"bootstrap: need per-problem values (1-d, or 2-d [runs, problems]), got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"bootstrap: level must be in (0, 1), got {level}")
    if resamples < 1:
        raise ValueError(f"bootstrap: resamples must be >= 1, got {resamples}")
    return x


def _interval(estimate: float, means: np.ndarray, level: float, n: int, clusters: int | None, runs: int) -> Interval:
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(estimate, float(low), float(high), level, n, clusters, runs)


def _unit_draws(rng: np.random.Generator, resamples: int, n: int, strata: Sequence[Any] | None,
                clusters: Sequence[Any] | None) -> tuple[list[np.ndarray], np.ndarray]:
    """The resampled units (clusters, or single problems) and [R, units]: how often each is drawn.
    With ``strata`` (single problems only) each stratum's problems are drawn among themselves, so
    every resample keeps the strata's sizes."""
    units = _strata_indices(clusters if clusters is not None else range(n), n)
    if strata is None:
        return units, _draw_counts(rng, resamples, len(units))
    if len(strata) != n:
        raise ValueError(f"bootstrap: {len(strata)} strata labels for {n} values")
    unit_stratum = [strata[int(idx[0])] for idx in units]  # units are single problems here
    counts = np.zeros((resamples, len(units)))
    for group in _strata_indices(unit_stratum, len(units)):
        counts[:, group] = _draw_counts(rng, resamples, len(group))
    return units, counts


def _resampled_means(runs: np.ndarray, units: list[np.ndarray], unit_draws: np.ndarray,
                     run_draws: np.ndarray) -> np.ndarray:
    """[R]: the mean over drawn runs of the per-problem mean over drawn units, per resample."""
    sums = np.stack([runs[:, idx].sum(axis=1) for idx in units], axis=1)  # [runs, units]
    sizes = np.array([len(idx) for idx in units], dtype=float)
    totals = (unit_draws @ sums.T * run_draws).sum(axis=1) / runs.shape[0]  # [R]: summed over drawn runs, averaged
    return totals / (unit_draws @ sizes)


def _problem_bootstrap(x: np.ndarray, strata: Sequence[Any] | None, rng: np.random.Generator, resamples: int,
                       level: float) -> Interval:
    """One run, problems independent: the original resampler (its draws, hence its records, unchanged)."""
    groups = [np.arange(len(x))] if strata is None else _strata_indices(strata, len(x))
    sums = np.zeros(resamples)
    for idx in groups:  # each stratum resampled on its own: its size is the same in every resample
        draws = rng.integers(0, len(idx), size=(resamples, len(idx)))  # [R, n_s]
        sums += x[idx][draws].sum(axis=1)
    return _interval(float(x.mean()), sums / len(x), level, len(x), None, 1)


def _draw_counts(rng: np.random.Generator, resamples: int, n: int) -> np.ndarray:
    """[resamples, n]: how often each of n items is drawn when n are drawn with replacement."""
    draws = rng.integers(0, n, size=(resamples, n))
    counts = np.zeros((resamples, n))
    np.add.at(counts, (np.arange(resamples)[:, None], draws), 1)
    return counts


def paired_difference(a: Sequence[float] | Sequence[Sequence[float]], b: Sequence[float] | Sequence[Sequence[float]],
                      *, strata: Sequence[Any] | None = None, clusters: Sequence[Any] | None = None,
                      resamples: int = DEFAULT_RESAMPLES, level: float = 0.95, seed: int = 0) -> Interval:
    """Interval of mean(a) - mean(b), where ``a[..., i]`` and ``b[..., i]`` are scores of the same
    problem ``i``. Either side may hold one row per training run. Against one row (e.g. the base
    model) the difference is taken per problem and run; when both sides have rows of their own
    (two arms, trained with several seeds each), the problems are resampled once for both and each
    side's runs on their own: seed ``k`` of one arm has nothing to pair with in the other."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape[-1:] != b.shape[-1:] or a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise ValueError(f"paired_difference: scores of shape {a.shape} vs {b.shape}; pair them by problem first")
    if b.ndim == 1:
        return bootstrap_mean(a - b, strata=strata, clusters=clusters, resamples=resamples, level=level, seed=seed)
    _checked(b, level, resamples)
    if strata is not None and clusters is not None:
        raise ValueError("bootstrap: strata with clusters are not supported; pass one")
    ra = a if a.ndim == 2 else a[None, :]
    rng = np.random.default_rng(seed)
    units, unit_draws = _unit_draws(rng, resamples, b.shape[1], strata, clusters)
    means = (_resampled_means(ra, units, unit_draws, _draw_counts(rng, resamples, ra.shape[0]))
             - _resampled_means(b, units, unit_draws, _draw_counts(rng, resamples, b.shape[0])))
    return _interval(float(ra.mean() - b.mean()), means, level, b.shape[1],
                     len(units) if clusters is not None else None, min(ra.shape[0], b.shape[0]))


def _strata_indices(strata: Sequence[Any], n: int) -> list[np.ndarray]:
    if len(strata) != n:
        raise ValueError(f"bootstrap: {len(strata)} strata or cluster labels for {n} values")
    labels: dict[Any, list[int]] = {}
    for i, s in enumerate(strata):
        labels.setdefault(s, []).append(i)
    return [np.asarray(v) for _, v in sorted(labels.items(), key=lambda kv: str(kv[0]))]
