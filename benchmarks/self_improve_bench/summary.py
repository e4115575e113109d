"""From per-problem results to the numbers the README may quote, each with its interval.

Groups: ``overall`` (every held-out problem of the trained families, resampled within family),
each family on its own, and ``ood`` (the probe family). For every scored policy and mode
(greedy / sampled): pass@1 lenient (``correct``) and strict (``strict``), at the eval cap and at
the training cap, with bootstrap intervals; format and truncation rates as plain means. Gains
(arm - base) and differences between arms are paired by problem (:mod:`selfimprove.stats`).
No ratios of gains: a ratio of two small, noisy gains is noise.
"""

from __future__ import annotations

import itertools
from typing import Any

from selfimprove.stats import bootstrap_mean, paired_difference

ARMS = ("ours", "trl_grpo_tuned", "plain_rft", "ours_grpo", "random")
PEERS = ("trl_grpo_tuned", "plain_rft")
BAR_MARGIN = 0.05  # issue #12: ours must beat the best peer by this much, interval above 0


def eval_cap(results: dict[str, Any]) -> int:
    """The scoring cap: ``--eval-cap``, or the one the ``calibrate`` phase chose."""
    cap = results["settings"]["eval_cap"]
    return cap if isinstance(cap, int) else results["phases"]["calibrate"]["eval_cap"]


def groups(results: dict[str, Any]) -> dict[str, tuple[list[str], list[str] | None]]:
    """group name -> (problem ids in a fixed order, strata labels or None)."""
    test, ood = results["data"]["problems"]["test"], results["data"]["problems"]["ood"]
    out: dict[str, tuple[list[str], list[str] | None]] = {
        "overall": ([p["id"] for p in test], [p["family"] for p in test])}
    for family in sorted({p["family"] for p in test}):
        out[family] = ([p["id"] for p in test if p["family"] == family], None)
    out["ood"] = ([p["id"] for p in ood], None)
    return out


def interval_metrics(rows: dict[str, dict[str, Any]]) -> list[str]:
    sample = next(iter(rows.values()))
    return [m for m in sample if m.startswith(("correct", "strict"))]


def rate_metrics(rows: dict[str, dict[str, Any]]) -> list[str]:
    sample = next(iter(rows.values()))
    return [m for m in sample if m.startswith(("boxed", "truncated", "tokens"))]


def _values(evaluation: dict[str, Any], mode: str, ids: list[str], metric: str) -> list[float]:
    rows = evaluation[mode]["problems"]
    missing = [i for i in ids if i not in rows]
    if missing:
        raise KeyError(f"{mode}: no result for {len(missing)} problem(s), e.g. {missing[:3]}")
    return [rows[i][metric] for i in ids]


def summarize(results: dict[str, Any], *, resamples: int = 10_000) -> dict[str, Any]:
    evals = results["evals"]
    grouped = groups(results)
    scored = [label for label in ("base", *ARMS) if label in evals]
    out: dict[str, Any] = {"scores": {}, "gains": {}, "differences": {}}
    for label in scored:
        out["scores"][label] = {}
        for mode, ev in evals[label].items():
            per_group = out["scores"][label].setdefault(mode, {})
            for group, (ids, strata) in grouped.items():
                rows = {i: ev["problems"][i] for i in ids}
                stats: dict[str, Any] = {}
                for m in interval_metrics(rows):
                    stats[m] = bootstrap_mean(_values(evals[label], mode, ids, m), strata=strata,
                                              resamples=resamples).to_dict()
                for m in rate_metrics(rows):
                    stats[m] = sum(r[m] for r in rows.values()) / len(rows)
                per_group[group] = stats
    pairs = [(arm, "base") for arm in ARMS if arm in evals and "base" in evals]
    pairs_between = list(itertools.combinations([a for a in ARMS if a in evals], 2))
    for target, pair_list in (("gains", pairs), ("differences", pairs_between)):
        for a, b in pair_list:
            name = a if target == "gains" else f"{a} - {b}"
            out[target][name] = {}
            for mode in evals[a]:
                for group, (ids, strata) in grouped.items():
                    rows = {i: evals[a][mode]["problems"][i] for i in ids}
                    out[target][name].setdefault(mode, {})[group] = {
                        m: paired_difference(_values(evals[a], mode, ids, m), _values(evals[b], mode, ids, m),
                                             strata=strata, resamples=resamples).to_dict()
                        for m in interval_metrics(rows)}
    out["bar"] = bar(out, evals)
    return out


def bar(summary: dict[str, Any], evals: dict[str, Any]) -> dict[str, Any] | None:
    """Issue #12's bar, evaluated on this record (None until ours, a peer, random and base are scored)."""
    peers = [p for p in PEERS if p in evals]
    if "ours" not in evals or not peers or "random" not in evals or "base" not in evals:
        return None
    greedy = lambda label: summary["scores"][label]["greedy"]["overall"]["correct"]["estimate"]  # noqa: E731
    best = max(peers, key=greedy)
    diff = summary["differences"][f"ours - {best}"]["greedy"]["overall"]["correct"]
    random_gain = summary["gains"]["random"]["greedy"]["overall"]["correct"]
    return {
        "best_peer": best,
        "ours_minus_best_peer": diff,
        "beats_best_peer_by_margin": diff["estimate"] >= BAR_MARGIN and diff["low"] > 0,
        "random_gain": random_gain,
        "random_gain_contains_zero": random_gain["low"] <= 0 <= random_gain["high"],
        "ood_gain_ours": summary["gains"]["ours"]["greedy"]["ood"]["correct"],
    }
