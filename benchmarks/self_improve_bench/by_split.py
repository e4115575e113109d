"""A record scored split by split (the code benchmark): its summary, table and plot.

The record holds, for the base model and every training run, pass@1 per problem:
``evals[label][split][mode]["problems"][id]["correct"]`` (from :func:`.scoring.pass_at_1`), and
``data[split]``, the problem ids in order. The summary gives pass@1, gains over the base model
and differences between arms, each with a 95% bootstrap interval paired by problem
(:mod:`.stats`); no ratios of gains. A benchmark says what is particular to it in a :class:`Spec`:

- its arms (compared with each other, in that order);
- which problems are not independent (``clusters``: e.g. the instances of one code template pass
  or fail together, so templates, not problems, are resampled);
- the labels of every training run its settings plan, and its plot's title.

Runs of one arm at several seeds are labelled ``<arm>@<seed>`` and pooled as ``<arm>``: the mean
over seeds, with seeds resampled too.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

from . import record, results_index
from .stats import bootstrap_mean, paired_difference


@dataclasses.dataclass(frozen=True)
class Spec:
    arms: tuple[str, ...]
    clusters: Callable[[str, list[str]], "list[str] | None"]  # (split, ids) -> each problem's cluster, or None
    planned: Callable[[dict[str, Any]], list[str]]  # the record's settings -> labels of every planned training run
    title: str  # the plot's, formatted with the record's settings


def summarize(results: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """pass@1, gains over the base model and differences between arms, each with its interval."""
    import numpy as np

    evals, data = results["evals"], results["data"]
    runs = {label: [label] for label in ("base", *spec.arms) if label in evals}
    seeds = [label for label in evals if label.startswith("random@")]
    if seeds:
        runs = {**{k: v for k, v in runs.items() if k != "random"}, **{s: [s] for s in seeds}, "random": seeds}
    primary = [label for label in spec.arms if label in runs]  # compared with each other
    out: dict[str, Any] = {"pass@1": {}, "gains": {}, "differences": {}, "runs": runs}

    for split, ids in data.items():
        clusters = spec.clusters(split, ids)

        def rows(label: str, mode: str) -> np.ndarray:  # [runs, problems]
            return np.array([[evals[r][split][mode]["problems"][i]["correct"] for i in ids] for r in runs[label]])

        def difference(a: str, b: str, mode: str) -> dict[str, Any]:
            x, y = rows(a, mode), rows(b, mode)
            if len(y) == 1:
                return paired_difference(x, y[0], clusters=clusters).to_dict()
            return (-paired_difference(y, x[0], clusters=clusters)).to_dict()  # b has the runs: -(b - a)

        for mode in evals["base"][split]:
            key = f"{split}/{mode}"
            out["pass@1"][key] = {lab: bootstrap_mean(rows(lab, mode), clusters=clusters).to_dict() for lab in runs}
            out["gains"][key] = {lab: difference(lab, "base", mode) for lab in runs if lab != "base"}
            out["differences"][key] = {f"{a} - {b}": difference(a, b, mode)
                                       for i, a in enumerate(primary) for b in primary[i + 1:]}
    return out


def ci(d: dict[str, Any], signed: bool = False) -> str:
    """``estimate [low, high]`` of an interval dict, to 3 decimals (signed for gains and differences)."""
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(d['estimate'])} [{f.format(d['low'])}, {f.format(d['high'])}]"


def table(results: dict[str, Any]) -> str:
    summary, training = results["summary"], results["training"]
    lines = ["| split / mode | " + " | ".join(summary["pass@1"][next(iter(summary["pass@1"]))]) + " |",
             "|---|" + "---|" * len(summary["pass@1"][next(iter(summary["pass@1"]))])]
    for key, per in summary["pass@1"].items():
        lines.append(f"| {key} | " + " | ".join(ci(v) for v in per.values()) + " |")
    gained = [label for label in summary["pass@1"][next(iter(summary["pass@1"]))] if label != "base"]
    if gained:
        lines += ["", "Gains over the base model (paired by problem; 95% bootstrap over templates, over problems on "
                  "HumanEval, and over seeds where an arm has several):", "",
                  "| split / mode | " + " | ".join(gained) + " |", "|---|" + "---|" * len(gained)]
        for key, per in summary["gains"].items():
            lines.append(f"| {key} | " + " | ".join(ci(per[a], True) for a in gained) + " |")
    diffs = sorted({d for per in summary["differences"].values() for d in per})
    if diffs:
        lines += ["", "Differences between arms:", "", "| split / mode | " + " | ".join(diffs) + " |",
                  "|---|" + "---|" * len(diffs)]
        for key, per in summary["differences"].items():
            lines.append(f"| {key} | " + " | ".join(ci(per[d], True) for d in diffs) + " |")
    evals = results["evals"]
    lines += ["", "Share of completions cut by the token cap (keep the base model's under 0.10):", "",
              "| split / mode | " + " | ".join(evals) + " |", "|---|" + "---|" * len(evals)]
    for key in summary["pass@1"]:
        split, mode = key.split("/")
        lines.append(f"| {key} | " + " | ".join(f"{e[split][mode]['truncated_fraction']:.3f}" for e in evals.values()) + " |")
    if training:
        lines += ["", "| arm | training min | optimizer steps | samples generated | share of each round spent verifying |",
                  "|---|---|---|---|---|"]
        lines += [f"| {a} | {r['train_min']:.1f} | {r['steps']} | {r['samples']} | "
                  + (", ".join(f"{t['fraction_verify']:.3f}" for t in r["throughput"]) if r.get("throughput") else "n/a")
                  + " |" for a, r in training.items()]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_key = results["summary"]["pass@1"]
    keys, labels = list(per_key), list(per_key[next(iter(per_key))])
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(1.6 * len(keys) + 3, 4))
    for j, label in enumerate(labels):
        est = [per_key[k][label]["estimate"] for k in keys]
        err = [[e - per_key[k][label]["low"] for k, e in zip(keys, est)],
               [per_key[k][label]["high"] - e for k, e in zip(keys, est)]]
        ax.bar([i + j * width for i in range(len(keys))], est, width, yerr=err, capsize=3, label=label)
    ax.set_xticks([i + width * (len(labels) - 1) / 2 for i in range(len(keys))], keys, fontsize=8)
    ax.set_ylabel("held-out pass@1 (95% bootstrap)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def render(results: dict[str, Any], results_path: Path, spec: Spec, *, figure: bool = True) -> None:
    """The record's table (and notes) and PNG from its stored summary; a committed record's also
    refresh the results index."""
    # beside a run's results.json: table.md and pass_at_1.png; beside a committed NAME.json: NAME.md, NAME.png
    md, png = record.outputs(results_path, "table.md", "pass_at_1.png")
    text = table(results)
    md.write_text(text + "\n" + record.notes_markdown(results))
    if figure:
        plot(results, png, spec.title.format(**results["settings"]))
    results_index.refresh(results_path)
    print("\n" + text + f"\n\nwrote {md}" + (f", {png}" if figure else "") + f" from {results_path}")


def write_summary(results: dict[str, Any], results_path: Path, save: Callable[[], None], spec: Spec) -> None:
    results["summary"] = summarize(results, spec)
    save()
    render(results, results_path, spec)


def resummarize(path: Path, spec: Spec) -> int:
    """Recompute a record's summary, table and PNG from its per-problem results (e.g. after the
    intervals changed), in place; the commit that did it is recorded beside the original's."""
    results = json.loads(path.read_text())
    results.setdefault("resummarized", []).append({"at": record.now(), **record.git_state()})
    if "finished" not in results and "stopped_early" not in results:  # say so in the record, and what it lacks
        missing = [label for label in spec.planned(results["settings"]) if label not in results["evals"]]
        results["stopped_early"] = {"noticed_at": record.now(), "loadavg": record.loadavg(), "not_run": missing}
        print(f"{path}: the run did not finish; summarizing what it scored (not run: {', '.join(missing) or 'none'})")
    write_summary(results, path, lambda: record.save(path, results), spec)
    return 0


def add_split(path: Path, spec: Spec, split: str, ids: list[str], score: Callable[[str | None], dict[str, Any]]) -> int:
    """Score ``split`` (problem ``ids``) for the base model and every trained checkpoint of a finished
    record, ``score(checkpoint)`` (None: the base model), add it to the record in place and
    resummarize; the time and commit of the addition are recorded."""
    results = json.loads(path.read_text())
    checkpoints = {label: None if label == "base" else results["training"][label]["checkpoint"]
                   for label in results["evals"]}
    for label, checkpoint in checkpoints.items():
        if checkpoint is not None and not Path(checkpoint).exists():
            raise SystemExit(f"{label}: checkpoint {checkpoint} is gone; scoring {split} needs the run's checkpoints")
    results["data"][split] = ids
    for label, checkpoint in checkpoints.items():
        print(f"{label}: scoring {split}", flush=True)
        results["evals"][label][split] = score(checkpoint)
        record.save(path, results)
    results.setdefault("added", []).append({"what": split, "at": record.now(), **record.git_state(),
                                            "loadavg": record.loadavg()})
    record.save(path, results)  # resummarize reads the record from disk
    return resummarize(path, spec)
