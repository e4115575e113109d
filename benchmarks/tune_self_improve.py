"""Tuning the default schedule of ``benchmarks/self_improve.py`` on a dev split (issue #12).

Issue #12 asks us to make ``ours`` win by improving the loop, not the peers. Choosing a change by
its held-out test score would be tuning on the test, so changes are compared here on a *dev*
split that the benchmark never uses: per trained family, the ``--dev`` problems that follow the
benchmark's train and validation problems in the family's seeded stream (so the benchmark's own
splits are unchanged), checked to share no canonical key with train, val, test or OOD.

Each variant is ``ours`` (configs/benchmark_self_improve.yaml) plus config overrides, trained from
the base model on the benchmark's train split, with its budget and clock
(``self_improve_bench.arms.run_loop_arm``), then scored greedy on the dev split at ``--eval-cap``.
The baselines, ``ours`` and ``plain_rft`` (the benchmark's textbook-RFT arm) unless ``--baselines``
names other benchmark arms, are always in the run; every variant gets a 95% paired bootstrap
interval of its difference from each. ``--set train.rounds=N --budget-minutes BIG`` compares
variants at a fixed number of rounds (optimizer steps) instead of a wall-clock budget.

    python benchmarks/tune_self_improve.py --variant star_all='train.rft.rationalize.max_prompts=null'
    python benchmarks/tune_self_improve.py --resume --variant ...   # adds variants to the run in --out

Writes ``<out>/results.json`` (git commit, machine, load average around each variant, settings,
per-problem dev results) and ``<out>/table.md``. Limits: one training run per variant (seed
variance is not in the intervals); wall-clock budgets, so run it on an otherwise idle machine.
A winner here still has to win in ``benchmarks/self_improve.py`` on the test split.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
BASELINES = ("ours", "plain_rft")


def benchmark_split() -> dict[str, int]:
    """The measured benchmark's split sizes and seed (benchmarks/self_improve.py), so the train split is its own."""
    from benchmarks.self_improve import FULL, parse_args

    return {**{k: FULL[k] for k in ("train", "val", "test", "ood")}, "seed": parse_args([]).seed}


def dev_splits(dev: int, split: dict[str, int] | None = None):
    """(the benchmark's splits, dev problems, family by id); raises if dev shares a key with any split."""
    from benchmarks.self_improve_bench import data
    from selfimprove.tasks.arithmetic import generate
    from selfimprove.tasks.base import check_disjoint

    split = split or benchmark_split()
    splits = data.build(**split)
    drawn: list = []
    for fam in (f for f in data.FAMILIES if f.trained):
        stream = generate(list(fam.ops), fam.digits, split["train"] + split["val"] + dev, split["test"], split["seed"])
        problems = stream["train"][split["train"] + split["val"]:]
        drawn += problems
        splits.family.update({p.id: fam.name for p in problems})
    check_disjoint({"train": splits.train, "val": splits.val, "test": splits.test, "ood": splits.ood, "dev": drawn})
    return splits, drawn


# -- one variant, in its own process ------------------------------------------------------------
def run_variant(name: str, overrides: list[str], out: str, settings: dict[str, Any]) -> dict[str, Any]:
    import dataclasses
    import os

    import torch

    from benchmarks.self_improve import FULL
    from benchmarks.self_improve_bench import arms, phases, record, scoring
    from selfimprove.evaluate import evaluate
    from selfimprove.train.policy import load_policy

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(settings["threads"])
    bench = {"budget_minutes": settings["budget_minutes"], "model": settings["model"], "val_eval": FULL["val_eval"],
             "strict_format": False, "loop_overrides": [*settings["common"], *overrides]}
    cfg = phases.loop_config(bench, Path(out), "ours")
    load0, t0 = record.loadavg(), time.perf_counter()
    trained = arms.run_loop_arm(dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, name=name)),
                                settings["budget_minutes"] * 60)
    load1 = record.loadavg()
    _, dev = dev_splits(settings["dev"], settings["split"])
    policy = load_policy(cfg, trained["checkpoint"])
    mcfg = scoring.mode_config(cfg, "greedy", eval_cap=settings["eval_cap"], samples=1, sampled_t=0.0)
    with phases._eval_runtime(cfg) as runtime:
        metrics, traces = evaluate(policy, dev, mcfg, runtime)
    trained.pop("config")
    return {"overrides": overrides, "training": trained, "loadavg_training": [load0, load1],
            "seconds": time.perf_counter() - t0, "truncated": metrics["truncated_fraction"],
            "dev": {t.problem_id: float(t.verification.correct) for t in traces}}


# -- summary ------------------------------------------------------------------------------------
def table(results: dict[str, Any]) -> str:
    from benchmarks.self_improve_bench.stats import bootstrap_mean, paired_difference

    ids = results["dev_ids"]
    family = results["family"]
    strata = [family[i] for i in ids]
    rows = {name: [v["dev"][i] for i in ids] for name, v in results["variants"].items()}
    baselines = tuple(results["settings"].get("baselines", BASELINES))

    def ci(x) -> str:
        return f"{x.estimate:+.3f} [{x.low:+.3f}, {x.high:+.3f}]"

    lines = [f"Dev split: {len(ids)} problems ({', '.join(sorted(set(strata)))}), greedy pass@1 at "
             f"{results['settings']['eval_cap']} tokens; budget {results['settings']['budget_minutes']:g} min per "
             "variant. Intervals: 95% paired bootstrap over problems, stratified by family.", "",
             f"| variant | overrides | rounds | train min | dev greedy pass@1 | {' | '.join(f'- {b}' for b in baselines)} "
             "| truncated |", "|---|---|---|---|---|" + "---|" * len(baselines) + "---|"]
    for name, v in results["variants"].items():
        m = bootstrap_mean(rows[name], strata=strata)
        diffs = [ci(paired_difference(rows[name], rows[b], strata=strata)) if b in rows and b != name else "-"
                 for b in baselines]
        counted = sum(r["counted"] for r in v["training"]["rounds"])
        what = f"(the benchmark's {name} arm)" if name in baselines else "; ".join(f"`{o}`" for o in v["overrides"])
        lines.append(f"| {name} | {what} | {counted} | "
                     f"{v['training']['train_min']:.1f} | {m.estimate:.3f} [{m.low:.3f}, {m.high:.3f}] | "
                     f"{' | '.join(diffs)} | {v['truncated']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from benchmarks.self_improve_bench import data, record, tuning

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    tuning.add_arguments(p, out=REPO / "runs" / "tune-self-improve", budget_minutes=7.0,  # the benchmark's
                         model="builtin:smollm2-135m-instruct")
    p.add_argument("--dev", type=int, default=100, help="dev problems per trained family")
    p.add_argument("--eval-cap", type=int, default=192, help="max new tokens when scoring (the benchmark's record: 192)")
    p.add_argument("--baselines", nargs="+", default=list(BASELINES),
                   help="benchmark arms in every run, each variant compared with them (default: ours plain_rft)")
    args = p.parse_args(argv)
    if args.render is not None:
        return tuning.render(args.render, table)

    from benchmarks.self_improve_bench.arms import LOOP_ARMS

    baselines = tuple(args.baselines)
    unknown = [b for b in baselines if b not in LOOP_ARMS]
    if unknown:
        raise SystemExit(f"--baselines: {unknown} are not loop arms of the benchmark ({', '.join(LOOP_ARMS)})")
    runs = tuning.plan({b: LOOP_ARMS[b] for b in baselines}, args.variant)
    settings = {"budget_minutes": args.budget_minutes, "dev": args.dev, "eval_cap": args.eval_cap,
                "model": args.model, "threads": args.threads, "split": benchmark_split(), "common": args.common}
    if baselines != BASELINES:  # records before --baselines existed keep their settings as they were
        settings["baselines"] = list(baselines)
    path = args.out / "results.json"

    def fresh() -> dict[str, Any]:
        splits, dev = dev_splits(args.dev, settings["split"])
        data.write_training_files(splits, args.out / "data")
        return {"settings": settings, "environment": {**record.git_state(), "machine": record.machine()},
                "dev_ids": [q.id for q in dev], "family": {q.id: splits.family[q.id] for q in dev},
                "leakage_check": "passed: no canonical key in two of train / val / test / ood / dev",
                "variants": {}}

    results = tuning.open_record(path, args.resume, settings, fresh)
    tuning.run_variants(path, results, runs, run_variant, (str(args.out), settings), table)
    return tuning.render(path, table)


if __name__ == "__main__":
    # Run as a script, benchmarks/ would come first on sys.path and its scripts would shadow our
    # packages of the same names: the repository root goes there instead.
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
    sys.exit(main())
