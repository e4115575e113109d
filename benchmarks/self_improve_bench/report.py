"""The markdown table and the PNG, rendered from results.json alone (re-render with ``--report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import scorer
from .summary import ARMS, SWEPT, eval_cap, run_seeds, sweep_runs

GROUP_TITLES = {"overall": "held-out (all trained families)", "ood": "OOD probe (never trained)"}


def _iv(d: dict[str, Any] | None, signed: bool = True) -> str:
    if d is None:
        return "-"
    f = "{:+.3f}" if signed else "{:.3f}"
    star = "" if not signed else (" ✓" if d["low"] > 0 else (" ✗" if d["high"] < 0 else ""))
    return f"{f.format(d['estimate'])} [{f.format(d['low'])}, {f.format(d['high'])}]{star}"


def _get(d: dict[str, Any], *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def markdown(results: dict[str, Any]) -> str:
    s, st = results["summary"], results["settings"]
    cap, tcap = eval_cap(results), st["train_cap"]
    env = results["environment"]
    inv = results["invocations"]
    lines = [
        f"# Self-improvement benchmark ({st['model']})",
        "",
        *(["**Smoke run (tiny budgets and sizes): these numbers measure nothing.**", ""] if st.get("smoke") else []),
        *([f"**Sampled pass@1 from {st['eval_samples']} samples per problem (the record needs >= 4).**", ""]
          if st["eval_samples"] < 4 else []),
        f"commit `{env['git_commit'][:12]}`{' (dirty tree)' if env['git_dirty'] else ''}; {env['machine']['cpu']}, "
        f"{env['machine']['cpus']} CPUs; load average before {inv[0]['loadavg_before'][0]:.2f}, after "
        f"{(inv[-1].get('loadavg_after') or [float('nan')])[0]:.2f}; {len(inv)} invocation(s).",
        f"Training budget {st['budget_minutes']:g} min per arm (evaluations off the clock); held-out: "
        f"{_sizes(results)}; pass@1 at a {cap}-token cap (training cap {tcap}); greedy = T 0; sampled = "
        f"T {st['sampled_temperature']:g} x {st['eval_samples']}. Intervals: 95% paired bootstrap over problems"
        f"{_seeds_clause(s)} (✓ above 0, ✗ below 0).",
        *_cap_lines(results, cap),
        scorer.describe(results),
        "",
        "## Arms",
        "",
        "| arm | train min | opt. steps | samples | greedy pass@1 | gain | sampled pass@1 | gain | strict greedy gain "
        f"| greedy gain @{tcap} tok | OOD greedy gain | truncated (greedy, @{cap} / @{tcap}) | boxed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in ("base", *ARMS):
        sc = _get(s, "scores", label)
        if sc is None:
            continue
        arm = _training(results, label)
        g, sm = sc["greedy"]["overall"], sc["sampled"]["overall"]
        gain = lambda mode, group, m: _iv(_get(s, "gains", label, mode, group, m))  # noqa: E731
        lines.append(
            f"| {label} | {arm['train_min']} | {arm['steps']} | {arm['samples']} "
            f"| {_iv(g['correct'], False)} | {gain('greedy', 'overall', 'correct')} | {_iv(sm['correct'], False)} "
            f"| {gain('sampled', 'overall', 'correct')} | {gain('greedy', 'overall', 'strict')} "
            f"| {gain('greedy', 'overall', f'correct@{tcap}')} | {gain('greedy', 'ood', 'correct')} "
            f"| {g['truncated']:.2f} / {_num(g.get(f'truncated@{tcap}'), '.2f')} | {g['boxed']:.2f} |")
    for arm in ARMS:
        for label in _get(s, "runs", arm) or [arm]:
            if results["phases"].get(f"train/{label}", {}).get("steps") == 0:
                lines.append(f"\n**{label} completed no round within the budget: it is scored as the base model.**")
    lines += _seed_lines(results)
    lines += ["", "## Per family (greedy pass@1; gain over base)", "",
              "| arm | " + " | ".join(f for f in _families(s)) + " |", "|---|" + "---|" * len(_families(s))]
    for label in ARMS:
        if _get(s, "gains", label) is None:
            continue
        lines.append(f"| {label} | " + " | ".join(
            f"{s['scores'][label]['greedy'][f]['correct']['estimate']:.3f} "
            f"({_iv(_get(s, 'gains', label, 'greedy', f, 'correct'))})" for f in _families(s)) + " |")
    lines += ["", "## Differences between arms (the first minus the second; a win only where the interval is above 0)", "",
              "| comparison | greedy | sampled | strict greedy | OOD greedy |", "|---|---|---|---|---|"]
    for name, d in s["differences"].items():
        if name.startswith("ours - ") or name == "ours_grpo - trl_grpo_tuned":
            lines.append(f"| {name} | {_iv(_get(d, 'greedy', 'overall', 'correct'))} "
                         f"| {_iv(_get(d, 'sampled', 'overall', 'correct'))} | {_iv(_get(d, 'greedy', 'overall', 'strict'))} "
                         f"| {_iv(_get(d, 'greedy', 'ood', 'correct'))} |")
    lines += _settings_lines(results) + _sweep_lines(results) + _bar_lines(s) + _grpo_bar_lines(s)
    return "\n".join(lines) + "\n"


def _training(results: dict[str, Any], arm: str) -> dict[str, str]:
    """The training columns of an arm: its one run's, or each seed's joined by ' / '."""
    labels = _get(results, "summary", "runs", arm) or [arm]
    entries = [results["phases"].get(f"train/{label}", {}) for label in labels]
    return {"train_min": " / ".join(_num(e.get("train_min"), ".1f") for e in entries),
            "steps": " / ".join(str(e.get("steps", "-")) for e in entries),
            "samples": " / ".join(str(e.get("samples", "-")) for e in entries)}


def _seeds_clause(s: dict[str, Any]) -> str:
    several = {arm: len(labels) for arm, labels in s.get("runs", {}).items() if len(labels) > 1}
    if not several:
        return " (one training run per arm: seed-to-seed variance of training is not in the intervals)"
    return (f" and over training seeds ({', '.join(f'{a} {n}' for a, n in several.items())}; an arm's score is "
            "the mean over its seeds)")


def _seed_lines(results: dict[str, Any]) -> list[str]:
    """Each seed's greedy pass@1, where an arm was trained with several."""
    s = results["summary"]
    several = {arm: labels for arm, labels in s.get("runs", {}).items() if len(labels) > 1}
    if not several:
        return []
    lines = ["", "## Per seed (overall greedy pass@1 of each training run; the arm's score is their mean)", "",
             "| arm | runs | per seed | mean |", "|---|---|---|---|"]
    for arm, labels in several.items():
        overall = s["scores"][arm]["greedy"]["overall"]
        first = run_seeds(results["settings"])[0]
        seed = lambda label: label.partition("@")[2] or str(first)  # noqa: E731
        per_run = ", ".join(f"seed {seed(label)}: {overall['per_run'][label]:.3f}" for label in labels)
        lines.append(f"| {arm} | {len(labels)} | {per_run} | {overall['correct']['estimate']:.3f} |")
    return lines


def _cap_lines(results: dict[str, Any], cap: int) -> list[str]:
    cal = results["phases"].get("calibrate")
    base = _get(results, "summary", "scores", "base", "greedy", "overall", "truncated")
    lines = []
    if cal:
        rates = ", ".join(f"{c}: {cal['truncation']['greedy'][c]:.2f} / {cal['truncation']['sampled'][c]:.2f}"
                          for c in cal["truncation"]["greedy"])
        chosen = (f"the smallest at which the base model truncated < {cal['limit']:.0%} of its answers on the "
                  "validation split" if cal["below_limit"] else
                  f"the largest tried; at none did the base model truncate < {cal['limit']:.0%} of its answers")
        lines.append(f"Eval cap {cap}: {chosen} (greedy / sampled truncation on validation, by cap: {rates}).")
    if base is not None and base >= 0.10:
        lines.append(f"**Warning: the base model truncates {base:.0%} of its greedy test answers at {cap} tokens; "
                     "the cap, not the policy, may decide part of the gains.**")
    return lines


def _sizes(results: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for p in results["data"]["problems"]["test"] + results["data"]["problems"]["ood"]:
        counts[p["family"]] = counts.get(p["family"], 0) + 1
    return ", ".join(f"{n} {f}" for f, n in counts.items())


def _families(s: dict[str, Any]) -> list[str]:
    any_label = next(iter(s["scores"].values()))
    return [g for g in any_label["greedy"] if g != "overall"]


def _num(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _settings_lines(results: dict[str, Any]) -> list[str]:
    """Each arm's hyperparameters, read from the configs the arms ran with."""
    lines = ["", "## Arms' settings", ""]
    for arm in ARMS:
        entry = results["phases"].get(f"train/{arm}")
        if not entry:
            continue
        c = entry["config"]
        if "trl" in c:
            t = c["trl"]
            text = (f"TRL GRPOTrainer, lr {t['learning_rate']:g} ({t['lr_scheduler_type']}), T {t['temperature']:g}, "
                    f"{t['per_device_train_batch_size'] // t['num_generations']} prompts x {t['num_generations']} "
                    f"generations per step, loss {t['loss_type']}, beta {t['beta']:g}, epsilon {t['epsilon']:g} / "
                    f"{t['epsilon_high']:g}, {t['max_completion_length']} tokens")
        else:
            tr = c["train"]
            rft, grpo = tr["rft"], tr["grpo"]
            parts = [f"schedule {tr['schedule']}, {tr['prompts_per_round']} prompts per round, curriculum "
                     f"{tr['curriculum']['enabled']}, reward {tr['reward']} ({c['verifier']['name']}), "
                     f"T {c['sampling']['temperature']:g}, {c['sampling']['max_new_tokens']} tokens"]
            if "rft" in tr["schedule"]:
                parts.append(f"rft: lr {rft['learning_rate']:g}, {rft['samples_per_prompt']} samples, cap "
                             f"{rft['per_prompt_cap']} ({rft['prefer']}), {rft['epochs']:g} epochs, accumulate "
                             f"{rft['accumulate']}, STaR {rft['rationalize']['enabled']}")
            if "grpo" in tr["schedule"]:
                parts.append(f"grpo: lr {grpo['learning_rate']:g}, {grpo['prompts_per_step']} x "
                             f"{grpo['num_generations']} per step, {grpo['steps_per_round']} steps per round, loss "
                             f"{grpo['loss_type']}, epsilon_high {grpo['epsilon_high']}, dynamic sampling "
                             f"{grpo.get('dynamic_sampling', grpo.get('drop_zero_variance'))}, reuse {grpo['reuse_rollouts']}")
            text = "; ".join(parts)
        lines.append(f"- **{arm}**: {text}")
    return lines


def _sweep_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for arm in SWEPT:
        title = "TRL" if arm == "trl_grpo_tuned" else arm
        sweep = list(sweep_runs(results, arm).values())
        if not sweep:
            continue
        lines += ["", f"## {title} learning-rate sweep (validation split, greedy pass@1; {len(sweep)} runs)", "",
                  "| learning rate | train min | steps | val greedy pass@1 | val truncated |", "|---|---|---|---|---|"]
        chosen = results["phases"].get(f"train/{arm}", {}).get("learning_rate")
        for v in sorted(sweep, key=lambda v: v["learning_rate"]):
            mark = " (chosen)" if v["learning_rate"] == chosen else ""
            trunc = f"{v['val_truncated']:.2f}" if "val_truncated" in v else "-"
            lines.append(f"| {v['learning_rate']:g}{mark} | {v['train_min']:.1f} | {v['steps']} | "
                         f"{v['val_pass@1']:.3f} | {trunc} |")
    return lines


def _bar_lines(s: dict[str, Any]) -> list[str]:
    b = s.get("bar")
    if not b:
        return []
    return ["", "## Issue #12's bar on this record", "",
            f"- ours - best peer ({b['best_peer']}), greedy overall: {_iv(b['ours_minus_best_peer'])}; "
            f"beats it by >= 0.05 with the interval above 0: **{'yes' if b['beats_best_peer_by_margin'] else 'no'}**",
            f"- random-reward control gain: {_iv(b['random_gain'])}; interval contains 0: "
            f"**{'yes' if b['random_gain_contains_zero'] else 'no'}**",
            f"- OOD probe, ours' greedy gain: {_iv(b['ood_gain_ours'])}"]


def _grpo_bar_lines(s: dict[str, Any]) -> list[str]:
    b = s.get("grpo_bar")
    if not b:
        return []
    runs = b["runs_per_arm"]
    collapsed = ", ".join(f"{lr:g}" for lr in b["collapses_where_trl_does_not"]) or "none"
    return ["", "## Issue #27's bar on this record", "",
            f"- ours_grpo - trl_grpo_tuned, greedy overall ({runs['ours_grpo']} / {runs['trl_grpo_tuned']} seeds): "
            f"{_iv(b['ours_grpo_minus_trl'])}; at least TRL's: **{'yes' if b['at_least_trl'] else 'no'}**",
            f"- swept rates at which ours_grpo collapses (validation greedy truncation >= 0.10) and TRL's does not: "
            f"**{collapsed}**"]


def plot(results: dict[str, Any], path: Path) -> None:
    """Gains over the base model with 95% intervals, per arm: greedy, sampled, strict, OOD."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = results["summary"]
    arms = [a for a in ARMS if a in s["gains"]]
    series = [("greedy", "overall", "correct", "greedy"), ("sampled", "overall", "correct", "sampled"),
              ("greedy", "overall", "strict", "greedy, strict format"), ("greedy", "ood", "correct", "greedy, OOD")]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / len(series)
    for j, (mode, group, metric, name) in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for i, arm in enumerate(arms):
            d = s["gains"][arm][mode][group][metric]
            xs.append(i + (j - (len(series) - 1) / 2) * width)
            ys.append(d["estimate"])
            lo.append(d["estimate"] - d["low"])
            hi.append(d["high"] - d["estimate"])
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=name)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(arms)), arms)
    ax.set_ylabel("pass@1 gain over the base model")
    st = results["settings"]
    ax.set_title(f"{'SMOKE RUN (measures nothing): ' if st.get('smoke') else ''}{st['model']}: "
                 f"{st['budget_minutes']:g} min of training per arm, 95% paired bootstrap intervals", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
