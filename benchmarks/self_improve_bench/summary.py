"""From per-problem results to the numbers a record (and the docs quoting it) may state, each with its interval.

Groups: ``overall`` (every held-out problem of the trained families, resampled within family),
each family on its own, and ``ood`` (the probe family). For every scored policy and mode
(greedy / sampled): pass@1 lenient (``correct``) and strict (``strict``), at the eval cap and at
the training cap, with bootstrap intervals; format and truncation rates as plain means. Gains
(arm - base) and differences between arms are paired by problem (:mod:`.stats`). No ratios of
gains: a ratio of two small, noisy gains is noise.

An arm trained with several seeds (``--seeds``) is scored once per seed: its first seed under the
arm's name, the others as ``<arm>@<seed>``. Its score is then the mean over seeds, and every
interval that involves it resamples its seeds as well as the problems, so training's seed-to-seed
variance (which on this benchmark dwarfs the problem-level noise) is in the interval.
"""

from __future__ import annotations

import itertools
from typing import Any

from .stats import bootstrap_mean, negated, paired_difference

ARMS = ("ours", "trl_grpo_tuned", "plain_rft", "ours_grpo", "random")
PEERS = ("trl_grpo_tuned", "plain_rft")
BAR_MARGIN = 0.05  # issue #12: ours must beat the best peer by this much, interval above 0


#: Arms whose learning rate is swept on the validation split, and the prefix of their sweep phases
#: (TRL's keeps the name records had before ours_grpo got its own sweep on 2026-12-07).
SWEPT = {"trl_grpo_tuned": "sweep/lr=", "ours_grpo": "sweep/ours_grpo/lr="}


def swept_arms(settings: dict[str, Any]) -> list[str]:
    """The run's arms that get a learning-rate sweep (records from before 2026-12-07 swept TRL's only)."""
    return settings.get("swept_arms", [a for a in ("trl_grpo_tuned",) if a in settings["arms"]])


def sweep_phase(arm: str, lr: float) -> str:
    return f"{SWEPT[arm]}{lr:g}"


def sweep_runs(results: dict[str, Any], arm: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in results["phases"].items() if k.startswith(SWEPT[arm])}


def run_seeds(settings: dict[str, Any]) -> list[int]:
    """The run seeds of every training arm (records from before ``--seeds``: one run, seed 0)."""
    return list(settings.get("seeds") or [0])


def run_label(arm: str, seed: int, settings: dict[str, Any]) -> str:
    """The first seed's run keeps the arm's name (so a one-seed record reads as before)."""
    return arm if seed == run_seeds(settings)[0] else f"{arm}@{seed}"


def arm_runs(evals: dict[str, Any]) -> dict[str, list[str]]:
    """arm -> the labels of its scored runs, in seed order, the first seed's first."""
    out: dict[str, list[str]] = {}
    for label in evals:
        arm = label.partition("@")[0]
        if arm in ARMS:
            out.setdefault(arm, []).append(label)
    order = lambda label: (0, 0) if "@" not in label else (1, int(label.partition("@")[2]))  # noqa: E731
    return {arm: sorted(out[arm], key=order) for arm in ARMS if arm in out}


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


def _matrix(evals: dict[str, Any], labels: list[str], mode: str, ids: list[str], metric: str) -> Any:
    """Per-problem values of one run (1-d), or one row per run (2-d) where an arm has several."""
    rows = [_values(evals[label], mode, ids, metric) for label in labels]
    return rows[0] if len(rows) == 1 else rows


def summarize(results: dict[str, Any], *, resamples: int = 10_000) -> dict[str, Any]:
    evals = results["evals"]
    grouped = groups(results)
    runs = {**({"base": ["base"]} if "base" in evals else {}), **arm_runs(evals)}
    out: dict[str, Any] = {"scores": {}, "gains": {}, "differences": {},
                           "runs": {arm: labels for arm, labels in runs.items() if arm != "base"}}
    for label, labels in runs.items():
        out["scores"][label] = {}
        for mode in evals[labels[0]]:
            per_group = out["scores"][label].setdefault(mode, {})
            for group, (ids, strata) in grouped.items():
                rows = [evals[run][mode]["problems"][i] for run in labels for i in ids]
                by_index = dict(enumerate(rows))  # the metric finders read a {problem: row} mapping
                stats: dict[str, Any] = {}
                for m in interval_metrics(by_index):
                    stats[m] = bootstrap_mean(_matrix(evals, labels, mode, ids, m), strata=strata,
                                              resamples=resamples).to_dict()
                for m in rate_metrics(by_index):
                    stats[m] = sum(r[m] for r in rows) / len(rows)
                if len(labels) > 1:  # each seed's own score, for the table
                    stats["per_run"] = {run: sum(_values(evals[run], mode, ids, "correct")) / len(ids)
                                        for run in labels}
                per_group[group] = stats
    arms = [a for a in ARMS if a in runs]
    pairs = [(arm, "base") for arm in arms if "base" in runs]
    pairs_between = list(itertools.combinations(arms, 2))
    for target, pair_list in (("gains", pairs), ("differences", pairs_between)):
        for a, b in pair_list:
            name = a if target == "gains" else f"{a} - {b}"
            out[target][name] = {}
            for mode in evals[runs[a][0]]:
                for group, (ids, strata) in grouped.items():
                    rows = {i: evals[runs[a][0]][mode]["problems"][i] for i in ids}
                    out[target][name].setdefault(mode, {})[group] = {
                        m: paired_difference(_matrix(evals, runs[a], mode, ids, m), _matrix(evals, runs[b], mode, ids, m),
                                             strata=strata, resamples=resamples).to_dict()
                        for m in interval_metrics(rows)}
    trl_minus_ours = out["differences"].get("trl_grpo_tuned - ours_grpo")
    if trl_minus_ours is not None:  # issue #27 compares the two GRPOs, ours first
        out["differences"]["ours_grpo - trl_grpo_tuned"] = {
            mode: {group: {m: negated(d) for m, d in metrics.items()} for group, metrics in per_group.items()}
            for mode, per_group in trl_minus_ours.items()}
    out["bar"] = bar(out, evals)
    out["grpo_bar"] = grpo_bar(out, results)
    return out


#: Issue #27: greedy truncation at or above this share at the eval cap is a collapsed policy.
COLLAPSE_TRUNCATION = 0.10


def grpo_bar(summary: dict[str, Any], results: dict[str, Any]) -> dict[str, Any] | None:
    """Issue #27's bar: ours_grpo's seed-mean greedy pass@1 at least trl_grpo_tuned's, and no swept
    rate at which ours collapses (validation truncation >= 0.10) where TRL's does not (None until
    both GRPO arms are scored)."""
    diff = summary["differences"].get("ours_grpo - trl_grpo_tuned")
    if diff is None:
        return None
    truncation = {arm: {v["learning_rate"]: v.get("val_truncated") for v in sweep_runs(results, arm).values()}
                  for arm in ("ours_grpo", "trl_grpo_tuned")}
    collapsed_alone = [lr for lr, t in truncation["ours_grpo"].items()
                       if t is not None and t >= COLLAPSE_TRUNCATION
                       and (truncation["trl_grpo_tuned"].get(lr) or 0.0) < COLLAPSE_TRUNCATION]
    greedy = diff["greedy"]["overall"]["correct"]
    return {"ours_grpo_minus_trl": greedy, "at_least_trl": greedy["estimate"] >= 0,
            "sweep_truncation": truncation, "collapses_where_trl_does_not": sorted(collapsed_alone),
            "runs_per_arm": {arm: len(summary["runs"].get(arm, [])) for arm in ("ours_grpo", "trl_grpo_tuned")}}


def bar(summary: dict[str, Any], evals: dict[str, Any]) -> dict[str, Any] | None:
    """Issue #12's bar, evaluated on this record (None until ours, a peer, random and base are scored)."""
    peers = [p for p in PEERS if p in summary["scores"]]
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
        "runs_per_arm": {arm: len(labels) for arm, labels in summary["runs"].items()},
    }
