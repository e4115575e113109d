"""Evaluation metrics over graded traces: pass@k, format-follow rate, lengths, status counts."""

from __future__ import annotations

import collections
import math
import re
from typing import Iterable, Sequence

from rollouts.trace import Trace

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al., 2021): 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def group_by_problem(traces: Iterable[Trace]) -> dict[str, list[Trace]]:
    groups: dict[str, list[Trace]] = collections.defaultdict(list)
    for t in traces:
        groups[t.problem_id].append(t)
    return groups


def summarize(traces: Sequence[Trace], ks: Sequence[int], *, check_boxed: bool = True) -> dict[str, float | int | dict]:
    """Metrics over graded traces. pass@k averages the unbiased estimator over problems."""
    if not traces:
        raise ValueError("no traces to summarize")
    groups = group_by_problem(traces)
    n_min = min(len(g) for g in groups.values())
    out: dict[str, float | int | dict] = {"problems": len(groups), "samples": len(traces)}
    for k in ks:
        if k <= n_min:
            out[f"pass@{k}"] = sum(
                pass_at_k(len(g), sum(t.verification.correct for t in g), k) for g in groups.values()
            ) / len(groups)
    out["mean_score"] = sum(t.verification.score for t in traces) / len(traces)
    if check_boxed:
        out["format_follow"] = sum(bool(_BOXED.search(t.completion)) for t in traces) / len(traces)
    out["mean_completion_tokens"] = sum(t.num_tokens for t in traces) / len(traces)
    out["truncated_fraction"] = sum(t.finish_reason == "length" for t in traces) / len(traces)
    counts = collections.Counter(t.verification.status.value for t in traces)
    out["status_counts"] = {s: counts.get(s, 0) for s in ("correct", "wrong", "invalid", "error", "timeout")}
    return out
