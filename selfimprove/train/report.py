"""Per-phase metrics for the tracker, the sample table, and the console summary."""

from __future__ import annotations

import collections
from typing import Any, Sequence

from rollouts.engine import RolloutStats
from rollouts.trace import Trace
from selfimprove.train.curriculum import split_by_variance


def sampling_metrics(prefix: str, traces: Sequence[Trace], kept: Sequence[bool], times: RolloutStats) -> dict[str, Any]:
    if not traces:
        return {f"{prefix}/samples": 0}
    varied, flat = split_by_variance(traces)
    counts = collections.Counter(t.verification.status.value for t in traces)
    out: dict[str, Any] = {
        f"{prefix}/samples": len(traces),
        f"{prefix}/prompts": len(varied) + len(flat),
        f"{prefix}/reward_mean": sum(t.verification.score for t in traces) / len(traces),
        f"{prefix}/kept": sum(kept),
        f"{prefix}/zero_variance_fraction": len(flat) / max(1, len(varied) + len(flat)),
        f"{prefix}/completion_tokens_mean": sum(t.num_tokens for t in traces) / len(traces),
        f"{prefix}/truncated_fraction": sum(t.finish_reason == "length" for t in traces) / len(traces),
        f"{prefix}/tokens_per_s": times.tokens_per_s,
        f"time/{prefix}_generate_s": times.generate_s,
        f"time/{prefix}_verify_s": times.verify_s,
    }
    for status in ("correct", "wrong", "invalid", "error", "timeout"):
        out[f"{prefix}/status_{status}"] = counts.get(status, 0)
    return out


def eval_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """:func:`selfimprove.evaluate.evaluate`'s summary, flattened under ``eval/``."""
    out = {}
    for key, value in metrics.items():
        if key == "status_counts":
            out.update({f"eval/status_{k}": v for k, v in value.items()})
        elif key in ("generate_s", "verify_s"):
            out[f"time/eval_{key}"] = value
        else:
            out[f"eval/{key}"] = value
    return out


SAMPLE_COLUMNS = ("round", "problem_id", "prompt", "completion", "status", "extracted")


def sample_rows(traces: Sequence[Trace], n: int) -> list[tuple]:
    """The first sample of up to ``n`` problems (spread over the list)."""
    firsts = [t for t in traces if t.sample_index == 0] or list(traces)
    step = max(1, len(firsts) // max(1, n))
    return [(t.round, t.problem_id, t.messages[-1]["content"][-200:], t.completion[:400],
             t.verification.status.value if t.verification else None,
             t.verification.extracted if t.verification else None) for t in firsts[::step][:n]]


def summary_table(history: Sequence[dict[str, Any]], ks: Sequence[int]) -> str:
    keys = [f"pass@{k}" for k in ks]
    head = f"  {'round':>5}  {'strategy':>8}  " + "  ".join(f"{k:>8}" for k in keys) + f"  {'format':>7}  {'train_min':>9}"
    lines = [head]
    for h in history:
        vals = "  ".join(f"{h.get(k, float('nan')):>8.3f}" for k in keys)
        lines.append(f"  {h['round']:>5}  {h.get('strategy', '-'):>8}  {vals}  {h.get('format_follow', float('nan')):>7.3f}"
                     f"  {h.get('train_wall_s', 0) / 60:>9.2f}")
    return "\n".join(lines)


def sampling_line(metrics: dict[str, Any], prefix: str) -> dict[str, str]:
    """The console's numbers for a sampled phase."""
    if not metrics.get(f"{prefix}/samples"):
        return {"samples": "0"}
    return {"samples": str(metrics[f"{prefix}/samples"]), "reward": f"{metrics[f'{prefix}/reward_mean']:.3f}",
            "kept": str(metrics[f"{prefix}/kept"]), "tok/s": f"{metrics[f'{prefix}/tokens_per_s']:.0f}"}


def eval_line(metrics: dict[str, Any], ks: Sequence[int]) -> dict[str, str]:
    keys = [f"pass@{k}" for k in ks] + ["format_follow", "truncated_fraction"]
    return {k.replace("_follow", "").replace("_fraction", ""): f"{metrics[k]:.3f}" for k in keys if k in metrics}
