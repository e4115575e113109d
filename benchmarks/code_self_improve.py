"""Code self-improvement benchmark (issue #17): the sandbox as the reward of a training loop.

The embedded SmolLM2-135M-Instruct on CPU, the procedural code family (selfimprove.tasks.code).
Arms, in one invocation, each from the base model with the same training wall-clock budget:

- ``ours``: ``selfimprove train`` with configs/code_rft.yaml as it is (the default code schedule:
  rft, programs that pass all tests kept, AST dedupe, refinement from the sandbox's feedback);
- ``random``: the same with ``train.reward: random`` (coin-flip verdicts while training);
- ``trl_grpo``: TRL's GRPOTrainer on the same train problems with the same sandbox reward (the
  code verifier with the config's options, ``entry_point`` passed as ours does), set as a
  competent user would: T = 0.7, 4 prompts x 8 generations per step, DAPO loss with clip-higher,
  the same token cap; its learning rate is the best of ``--trl-lrs``, each trained
  ``--sweep-minutes`` and scored greedy on a validation set carved from the train split.
  Differences that remain: TRL's transformers path passes no tokenizer to ``generate``, so it
  has no stop strings and its completions run on past the code block (to EOS or the cap); the
  sweep is tuning time the other arms do not get.

Clock: training only (sampling, verifying, updating). A loop arm runs one round per
``selfimprove train --resume`` call and starts a round only when the last round of the same
strategy, plus 10%, still fits in the budget; it is scored at its last round that ended within
the budget, and a round sure to end past it is stopped there (``self_improve_bench/arms.py``).
The TRL arm stops before a step that would end past the budget. Evaluations are off the clock; the loop's own per-round evaluation is shrunk to ``--loop-eval-problems`` problems.

Scoring (off the clock, same seed and problems for every policy): the base model and each arm,
greedy (T = 0, 1 sample) and sampled (T = ``--temperature``, ``--samples`` per problem) pass@1 on
the *parametric* split (trained templates, unseen parameters) and the *template* split (templates
never trained on), and greedy on HumanEval with ``--humaneval``. 95% bootstrap intervals, paired
by problem for every gain (arm - base) and every difference between arms (selfimprove.stats). No
ratios of gains. On the procedural splits whole templates are resampled, not problems: instances of
one template pass or fail together (a policy that learns, or unlearns, a template's trick flips all
its instances), so the parametric split's ~100 problems are ~23 independent units and the template
split's are 8. HumanEval's problems are resampled one by one.

The random control (``--random-seeds``) can be trained once per seed: an SFT round on the model's
own programs can move greedy decoding template by template whatever it is trained on (in the
2026-11-30 record the control's kept programs passed their tests 20% of the time, and its greedy
pass@1 still rose by 0.15), so one seed's change can be that seed's luck. With several seeds,
``random`` is their mean and its interval resamples seeds as well as templates. ``ours`` and TRL
run once (one seed).

Writes ``<out>/results.json`` (git commit, pip freeze, machine, load average before and after,
every arm's config and training record, per-problem results, the summary), ``<out>/pass_at_1.png``
and ``<out>/table.md``.

    python benchmarks/code_self_improve.py                         # the measured run, see --help
    python benchmarks/code_self_improve.py --smoke                 # end to end in minutes; numbers mean nothing
    python benchmarks/code_self_improve.py --arms                  # score the base model only

Limits: one training run per arm except the random control (those intervals cover problems, not
seeds); wall-clock budgets make results depend on the machine and its load (both recorded).
``--resummarize RESULTS_JSON`` recomputes a finished record's summary, table and PNG in place;
``--add-humaneval RESULTS_JSON`` scores HumanEval on a finished record's checkpoints.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
CONFIG = REPO / "configs" / "code_rft.yaml"
ARMS = ("ours", "random", "trl_grpo")
SPLITS = ("parametric", "template")
#: Scored greedy only: HumanEval (as its papers report it) and the sweep's validation set (the
#: learning rate is picked on greedy pass@1).
GREEDY_ONLY = ("humaneval", "val")

#: --smoke: every phase runs, on a few problems, for a minute or two each.
SMOKE = dict(budget_minutes=1.5, eval_problems=6, samples=2, val_problems=4, trl_lrs=[1e-6], sweep_minutes=0.3,
             loop_eval_problems=2, loop_sets=["train.prompts_per_round=6", "train.rft.samples_per_prompt=4",
                                              "train.rft.refine.max_prompts=3", "train.rft.epochs=1"])


# -- arms ---------------------------------------------------------------------------------------
def arm_config(args: argparse.Namespace, arm: str, seed: int | None = None):
    from selfimprove.config import load_config

    seed = args.seed if seed is None else seed
    name = arm if seed == args.seed else f"{arm}-seed{seed}"
    sets = [f"run.output_dir={args.out / 'runs'}", f"run.name={name}", f"run.seed={seed}",
            f"eval.max_problems={args.loop_eval_problems}", "train.eval_before=false", "train.rounds=1000",
            "train.time_budget_minutes=null", "train.keep_checkpoints=1000", *args.loop_sets, *args.overrides]
    if arm == "random":
        sets.append("train.reward=random")
    return load_config(CONFIG, sets)


# -- scoring ------------------------------------------------------------------------------------
def score(policy, problems: list, cfg, runtime, *, mode: str, samples: int, temperature: float,
          tokens: int) -> dict[str, Any]:
    """pass@1 per problem (fraction of samples whose programs pass every test), truncation, length."""
    from selfimprove.evaluate import evaluate

    greedy = mode == "greedy"
    sampling = dataclasses.replace(cfg.sampling, temperature=0.0 if greedy else temperature,
                                   num_samples=1 if greedy else samples, max_new_tokens=tokens)
    mcfg = dataclasses.replace(cfg, sampling=sampling, eval=dataclasses.replace(cfg.eval, ks=[1], max_problems=None))
    policy.tokenizer.padding_side = "left"
    metrics, traces = evaluate(policy, problems, mcfg, runtime)
    rows: dict[str, dict[str, Any]] = {}
    for t in traces:
        r = rows.setdefault(t.problem_id, {"n": 0, "correct": 0.0, "truncated": 0.0, "tokens": 0.0, "statuses": []})
        r["n"] += 1
        r["correct"] += t.verification.correct
        r["truncated"] += t.finish_reason == "length"
        r["tokens"] += t.num_tokens
        r["statuses"] = sorted(set(r["statuses"]) | {t.verification.status.value})
    for r in rows.values():
        for k in ("correct", "truncated", "tokens"):
            r[k] /= r["n"]
    return {"problems": rows, "seconds": metrics["generate_s"] + metrics["verify_s"],
            "truncated_fraction": metrics["truncated_fraction"], "sampling": dataclasses.asdict(sampling)}


def score_policy(policy, sets: dict[str, list], cfg, runtime, args) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split, problems in sets.items():
        modes = ["greedy"] if split in GREEDY_ONLY else ["greedy", "sampled"]
        tokens = args.humaneval_tokens if split == "humaneval" else args.eval_tokens
        out[split] = {m: score(policy, problems, cfg, runtime, mode=m, samples=args.samples,
                               temperature=args.temperature, tokens=tokens) for m in modes}
        print("    " + split + ": " + ", ".join(f"{m} {mean_of(out[split][m]):.3f}" for m in modes), flush=True)
    return out


def mean_of(evaluation: dict[str, Any]) -> float:
    rows = evaluation["problems"].values()
    return sum(r["correct"] for r in rows) / len(rows)


# -- summary, table, plot -----------------------------------------------------------------------
def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """pass@1, gains over the base model and differences between arms, each with a 95% bootstrap
    interval. Procedural splits are resampled by template (its instances pass or fail together),
    HumanEval by problem. Random-control seeds (``random@<seed>``) are pooled as ``random``: the
    mean over seeds, with seeds resampled too."""
    import numpy as np

    from selfimprove.stats import bootstrap_mean, paired_difference
    from selfimprove.tasks.code import template_of

    evals, data = results["evals"], results["data"]
    runs = {label: [label] for label in ("base", *ARMS) if label in evals}
    seeds = [label for label in evals if label.startswith("random@")]
    if seeds:
        runs = {**{k: v for k, v in runs.items() if k != "random"}, **{s: [s] for s in seeds}, "random": seeds}
    primary = [label for label in ARMS if label in runs]  # compared with each other
    out: dict[str, Any] = {"pass@1": {}, "gains": {}, "differences": {}, "runs": runs}

    for split, ids in data.items():
        clusters = None if split == "humaneval" else [template_of(i) for i in ids]

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


def _ci(d: dict[str, Any], signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(d['estimate'])} [{f.format(d['low'])}, {f.format(d['high'])}]"


def table(results: dict[str, Any]) -> str:
    summary, training = results["summary"], results["training"]
    lines = ["| split / mode | " + " | ".join(summary["pass@1"][next(iter(summary["pass@1"]))]) + " |",
             "|---|" + "---|" * len(summary["pass@1"][next(iter(summary["pass@1"]))])]
    for key, per in summary["pass@1"].items():
        lines.append(f"| {key} | " + " | ".join(_ci(v) for v in per.values()) + " |")
    gained = [label for label in summary["pass@1"][next(iter(summary["pass@1"]))] if label != "base"]
    if gained:
        lines += ["", "Gains over the base model (paired by problem; 95% bootstrap over templates, over problems on "
                  "HumanEval, and over seeds where an arm has several):", "",
                  "| split / mode | " + " | ".join(gained) + " |", "|---|" + "---|" * len(gained)]
        for key, per in summary["gains"].items():
            lines.append(f"| {key} | " + " | ".join(_ci(per[a], True) for a in gained) + " |")
    diffs = sorted({d for per in summary["differences"].values() for d in per})
    if diffs:
        lines += ["", "Differences between arms:", "", "| split / mode | " + " | ".join(diffs) + " |",
                  "|---|" + "---|" * len(diffs)]
        for key, per in summary["differences"].items():
            lines.append(f"| {key} | " + " | ".join(_ci(per[d], True) for d in diffs) + " |")
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


def plot(results: dict[str, Any], path: Path) -> None:
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
    ax.set_title(f"SmolLM2-135M on code, {results['settings']['budget_minutes']:g} min of training per arm", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# -- phases (each in a fresh process: a run's memory grows round after round) -------------------
def _child(fn, *args):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def _threads(n: int) -> None:
    import os

    import torch

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(n)


def problem_sets(args: argparse.Namespace, cfg) -> tuple[dict[str, list], list, list]:
    """(held-out sets by split, train problems, validation problems carved from the train split)."""
    from selfimprove.tasks import code

    seed, n_train = cfg.task.seed, cfg.task.num_train
    sets = {split: code.generate_code_tasks(args.eval_problems, seed, split) for split in SPLITS}
    if args.humaneval:
        sets["humaneval"] = code.load_humaneval()
    train_and_val = code.generate_code_tasks(n_train + args.val_problems, seed, "train")  # prefixes are stable
    return sets, train_and_val[:n_train], train_and_val[n_train:]


def phase_score(args: argparse.Namespace, checkpoint: str | None, splits: list[str]) -> dict[str, Any]:
    from selfimprove.models import load_model

    _threads(args.threads)
    cfg = arm_config(args, "ours")
    sets, _, val = problem_sets(args, cfg)
    sets["val"] = val
    policy = load_model(checkpoint or cfg.model.name, device="cpu", cache_dir=cfg.model.cache_dir, seed=cfg.run.seed)
    policy.model.eval()
    with cfg.verifier.runtime() as runtime:
        return score_policy(policy, {s: sets[s] for s in splits}, cfg, runtime, args)


def phase_loop_arm(args: argparse.Namespace, arm: str, seed: int | None = None) -> dict[str, Any]:
    import shutil

    from benchmarks.self_improve_bench import arms

    _threads(args.threads)
    cfg = arm_config(args, arm, seed)
    shutil.rmtree(cfg.run_dir, ignore_errors=True)  # every invocation trains from the base model
    trained = arms.run_loop_arm(cfg, args.budget_minutes * 60)
    trained["throughput"] = round_throughput(cfg.run_dir)
    return trained


def round_throughput(run_dir: Path) -> list[dict[str, Any]]:
    """Each round's ``throughput/*`` line from the run's metrics.jsonl (the share of the round spent
    verifying in the sandbox is ``fraction_verify``; #17's bar is under 0.20 with 2 slots)."""
    from selfimprove.report import read_jsonl

    return [{"round": m["round"], **{k.split("/", 1)[1]: v for k, v in m.items() if k.startswith("throughput/")}}
            for m in read_jsonl(run_dir / "metrics.jsonl") if "throughput/fraction_verify" in m]


def phase_trl(args: argparse.Namespace, lr: float, minutes: float, out_dir: str) -> dict[str, Any]:
    from benchmarks.self_improve_bench.arms import TRLSettings, run_trl_arm

    _threads(args.threads)
    cfg = arm_config(args, "trl_grpo")
    _, train, _ = problem_sets(args, cfg)
    record, _ = run_trl_arm(cfg, train, lr, minutes * 60, Path(out_dir), TRLSettings(), cfg.verifier.name)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--budget-minutes", type=float, default=30.0, help="training wall-clock per arm")
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=ARMS, help="none: score the base model only")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "bench-code-self-improve")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0, help="run.seed of every arm")
    parser.add_argument("--eval-problems", type=int, default=120, help="held-out problems per split")
    parser.add_argument("--samples", type=int, default=4, help="sampled pass@1: samples per problem")
    parser.add_argument("--temperature", type=float, default=0.7, help="sampled pass@1: temperature")
    parser.add_argument("--eval-tokens", type=int, default=160, help="new-token cap of evaluations")
    parser.add_argument("--humaneval", action="store_true", help="also score greedy pass@1 on HumanEval")
    parser.add_argument("--humaneval-tokens", type=int, default=384, help="new-token cap on HumanEval")
    parser.add_argument("--trl-lrs", type=float, nargs="+", default=[3e-6, 1e-5, 3e-5], help="TRL learning rates swept")
    parser.add_argument("--sweep-minutes", type=float, default=5.0, help="training per swept learning rate")
    parser.add_argument("--val-problems", type=int, default=40, help="train-split problems held back for the sweep")
    parser.add_argument("--loop-eval-problems", type=int, default=20, help="the loop's own per-round eval (parametric)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for the loop arms (and the shared task / sampling / verifier)")
    parser.add_argument("--random-seeds", type=int, nargs="+", default=None, metavar="SEED",
                        help="train the random control once per seed; its gain is then the mean over seeds, with "
                             "seed-to-seed variance in the interval; default: --seed only")
    parser.add_argument("--resummarize", type=Path, default=None, metavar="RESULTS_JSON",
                        help="recompute the summary, table and PNG of a finished record from its per-problem "
                             "results, in place, and stop")
    parser.add_argument("--add-humaneval", type=Path, default=None, metavar="RESULTS_JSON",
                        help="score HumanEval for the base model and every checkpoint of a finished record made "
                             "without --humaneval, add it to the record in place, and stop")
    parser.add_argument("--render", type=Path, default=None, metavar="RESULTS_JSON",
                        help="re-render a record's table and notes from its stored summary (no PNG, no "
                             "recomputation), and stop")
    parser.add_argument("--smoke", action="store_true", help="tiny budget and sets: checks the script end to end")
    if parser.parse_known_args(argv)[0].smoke:  # smoke defaults; flags given still win
        parser.set_defaults(**{k: v for k, v in SMOKE.items() if k != "loop_sets"})
    args = parser.parse_args(argv)
    args.loop_sets = SMOKE["loop_sets"] if args.smoke else []
    for given in (args.resummarize, args.add_humaneval, args.render):
        if given is not None and not given.is_file():
            parser.error(f"{given}: no such record; pass the results JSON a finished run wrote")
    if args.render:
        import json

        render(json.loads(args.render.read_text()), args.render, figure=False)
        return 0
    if args.resummarize:
        return resummarize(args.resummarize)
    if args.add_humaneval:
        return add_humaneval(args.add_humaneval)
    from benchmarks.self_improve_bench import record  # provenance, as the arithmetic benchmark records it

    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    results: dict[str, Any] = {"issue": 17, "started": record.now(), "settings": settings, **record.git_state(),
                               "pip_freeze": record.pip_freeze(), "machine": record.machine(),
                               "loadavg_before": record.loadavg(), "training": {}, "evals": {}}
    cfg = arm_config(args, "ours")
    sets, train, val = problem_sets(args, cfg)
    results["data"] = {split: [p.id for p in problems] for split, problems in sets.items()}
    results["train_ids"], results["val_ids"] = [p.id for p in train], [p.id for p in val]
    save = lambda: record.save(results_path, results)  # noqa: E731 - after every phase
    splits = list(sets)
    t0 = time.perf_counter()
    print(f"scoring the base model on {', '.join(f'{s} ({len(p)})' for s, p in sets.items())}", flush=True)
    results["evals"]["base"] = _child(phase_score, args, None, splits)
    save()
    for label, arm, seed in planned_runs(args):
        print(f"arm {label}: {args.budget_minutes:g} min of training", flush=True)
        if arm == "trl_grpo":
            sweep = {}  # one learning rate given: nothing to sweep (say where it came from in the README)
            for lr in (args.trl_lrs if len(args.trl_lrs) > 1 else []):
                rec = _child(phase_trl, args, lr, args.sweep_minutes, str(args.out / "sweep" / f"lr={lr:g}"))
                sweep[f"{lr:g}"] = {**rec, "val": _child(phase_score, args, rec["checkpoint"], ["val"])["val"]}
                print(f"  sweep lr={lr:g}: val greedy pass@1 {mean_of(sweep[f'{lr:g}']['val']['greedy']):.3f}", flush=True)
            best = (max(args.trl_lrs, key=lambda lr: (mean_of(sweep[f"{lr:g}"]["val"]["greedy"]), -lr))
                    if sweep else args.trl_lrs[0])
            trained = _child(phase_trl, args, best, args.budget_minutes, str(args.out / "trl_grpo"))
            trained["sweep"] = sweep
        else:
            trained = _child(phase_loop_arm, args, arm, seed)
        results["training"][label] = trained
        save()
        print(f"  trained {trained['train_min']:.1f} min, {trained['steps']} steps, {trained['samples']} samples; "
              "scoring", flush=True)
        results["evals"][label] = _child(phase_score, args, trained["checkpoint"], splits)
        save()
    results["finished"], results["loadavg_after"] = record.now(), record.loadavg()
    results["wall_min"] = (time.perf_counter() - t0) / 60
    write_summary(results, results_path, save)
    return 0


def planned_runs(args: argparse.Namespace) -> list[tuple[str, str, int | None]]:
    """(label, arm, seed) of every training run: the random control once per ``--random-seeds``."""
    seeds = args.random_seeds or [args.seed]
    out: list[tuple[str, str, int | None]] = []
    for arm in args.arms:
        if arm == "random" and seeds != [args.seed]:
            out += [(f"random@{seed}", arm, seed) for seed in seeds]
        else:
            out.append((arm, arm, None))
    return out


def write_summary(results: dict[str, Any], results_path: Path, save) -> None:
    results["summary"] = summarize(results)
    save()
    render(results, results_path)


def render(results: dict[str, Any], results_path: Path, *, figure: bool = True) -> None:
    """The record's table (and notes) and PNG from its stored summary; a committed record's also
    refresh the results index."""
    from benchmarks.self_improve_bench import record, results_index

    # beside a run's results.json: table.md and pass_at_1.png; beside a committed NAME.json: NAME.md, NAME.png
    md, png = record.outputs(results_path, "table.md", "pass_at_1.png")
    text = table(results)
    md.write_text(text + "\n" + record.notes_markdown(results))
    if figure:
        plot(results, png)
    results_index.refresh(results_path)
    print("\n" + text + f"\n\nwrote {md}" + (f", {png}" if figure else "") + f" from {results_path}")


def add_humaneval(path: Path) -> int:
    """Score HumanEval (greedy) for the base model and every trained checkpoint of a finished
    record, with the record's own settings, then resummarize it in place. For a run made without
    ``--humaneval``; the time and commit of the addition are recorded."""
    import json

    from benchmarks.self_improve_bench import record

    results = json.loads(path.read_text())
    args = argparse.Namespace(**{**results["settings"], "humaneval": True})
    args.out = Path(args.out)
    checkpoints = {label: None if label == "base" else results["training"][label]["checkpoint"]
                   for label in results["evals"]}
    for label, checkpoint in checkpoints.items():
        if checkpoint is not None and not Path(checkpoint).exists():
            raise SystemExit(f"{label}: checkpoint {checkpoint} is gone; HumanEval needs the run's checkpoints")
    results["data"]["humaneval"] = [p.id for p in problem_sets(args, arm_config(args, "ours"))[0]["humaneval"]]
    for label, checkpoint in checkpoints.items():
        print(f"{label}: scoring HumanEval", flush=True)
        results["evals"][label]["humaneval"] = _child(phase_score, args, checkpoint, ["humaneval"])["humaneval"]
        record.save(path, results)
    results.setdefault("added", []).append({"what": "humaneval", "at": record.now(), **record.git_state(),
                                            "loadavg": record.loadavg()})
    record.save(path, results)  # resummarize reads the record from disk
    return resummarize(path)


def resummarize(path: Path) -> int:
    """Recompute a record's summary, table and PNG from its per-problem results (e.g. after the
    intervals changed), in place; the commit that did it is recorded beside the original's."""
    import json

    from benchmarks.self_improve_bench import record

    results = json.loads(path.read_text())
    results.setdefault("resummarized", []).append({"at": record.now(), **record.git_state()})
    if "finished" not in results and "stopped_early" not in results:  # say so in the record, and what it lacks
        planned = [label for label, _, _ in planned_runs(argparse.Namespace(**results["settings"]))]
        missing = [label for label in planned if label not in results["evals"]]
        results["stopped_early"] = {"noticed_at": record.now(), "loadavg": record.loadavg(), "not_run": missing}
        print(f"{path}: the run did not finish; summarizing what it scored (not run: {', '.join(missing) or 'none'})")
    write_summary(results, path, lambda: record.save(path, results))
    return 0


if __name__ == "__main__":
    # Run as a script, benchmarks/ would come first on sys.path and its scripts (rollouts.py, ...)
    # would shadow our packages of the same names: the repository root goes there instead.
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
    sys.exit(main())
