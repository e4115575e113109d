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


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``NAME=KEY=VALUE[;KEY=VALUE...]`` -> (name, overrides)."""
    name, sep, rest = text.partition("=")
    overrides = [o.strip() for o in rest.split(";") if o.strip()]
    if not sep or not name.isidentifier() or not overrides or any("=" not in o for o in overrides):
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME=KEY=VALUE[;KEY=VALUE...], "
                                         "e.g. lr1e4=train.rft.learning_rate=1e-4")
    return name, overrides


def variant_overrides(name: str, given: dict[str, list[str]], baselines: tuple[str, ...] = BASELINES) -> list[str]:
    from benchmarks.self_improve_bench.arms import LOOP_ARMS

    return LOOP_ARMS.get(name, []) if name in baselines else given[name]


# -- one variant, in its own process ------------------------------------------------------------
def run_variant(out: str, name: str, overrides: list[str], settings: dict[str, Any]) -> dict[str, Any]:
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
    import multiprocessing

    from benchmarks.self_improve_bench import data, record

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", type=parse_variant, action="append", default=[],
                   help="NAME=KEY=VALUE[;KEY=VALUE...]: ours plus these config overrides (repeatable)")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "tune-self-improve")
    p.add_argument("--resume", action="store_true", help="keep the variants already in --out; run the new ones")
    p.add_argument("--budget-minutes", type=float, default=7.0, help="training wall-clock per variant (the benchmark's)")
    p.add_argument("--dev", type=int, default=100, help="dev problems per trained family")
    p.add_argument("--eval-cap", type=int, default=192, help="max new tokens when scoring (the benchmark's record: 192)")
    p.add_argument("--model", default="builtin:smollm2-135m-instruct")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--baselines", nargs="+", default=list(BASELINES),
                   help="benchmark arms in every run, each variant compared with them (default: ours plain_rft)")
    p.add_argument("--set", dest="common", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every variant and baseline (e.g. smaller rounds for a smoke run)")
    p.add_argument("--render", type=Path, default=None, metavar="RESULTS_JSON",
                   help="only re-render a record's table and notes")
    args = p.parse_args(argv)
    if args.render is not None:
        return render(args.render)

    from benchmarks.self_improve_bench.arms import LOOP_ARMS

    given = dict(args.variant)
    baselines = tuple(args.baselines)
    unknown = [b for b in baselines if b not in LOOP_ARMS]
    if unknown:
        raise SystemExit(f"--baselines: {unknown} are not loop arms of the benchmark ({', '.join(LOOP_ARMS)})")
    names = [*baselines, *given]
    settings = {"budget_minutes": args.budget_minutes, "dev": args.dev, "eval_cap": args.eval_cap,
                "model": args.model, "threads": args.threads, "split": benchmark_split(), "common": args.common}
    if baselines != BASELINES:  # records before --baselines existed keep their settings as they were
        settings["baselines"] = list(baselines)
    path = args.out / "results.json"
    if args.resume and path.exists():
        results = record.load(path)
        if results["settings"] != settings:
            raise SystemExit(f"--resume: settings differ from {path}; pass the same flags")
    elif path.exists():
        raise SystemExit(f"{path} exists; pass --resume to add variants to it, or another --out")
    else:
        splits, dev = dev_splits(args.dev, settings["split"])
        data.write_training_files(splits, args.out / "data")
        results = {"settings": settings, "environment": {**record.git_state(), "machine": record.machine()},
                   "dev_ids": [q.id for q in dev], "family": {q.id: splits.family[q.id] for q in dev},
                   "leakage_check": "passed: no canonical key in two of train / val / test / ood / dev",
                   "variants": {}}
    for name in names:
        overrides = variant_overrides(name, given, baselines)
        done = results["variants"].get(name)
        if done is not None:
            if done["overrides"] != overrides:
                raise SystemExit(f"variant {name!r} is in {path} with other overrides {done['overrides']}; rename it")
            continue
        print(f"== {name}: {overrides or '(config as is)'}", flush=True)
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            entry = pool.apply(run_variant, (str(args.out), name, overrides, settings))
        entry.update(git_commit=record.git_state()["git_commit"], finished=record.now())
        results["variants"][name] = entry
        record.save(path, results)
        print(table(results), flush=True)
    return render(path)


def render(path: Path) -> int:
    """The record's table and notes: ``table.md`` beside a run's results.json, ``NAME.md`` beside a
    committed ``NAME.json`` (and the results index is regenerated)."""
    from benchmarks.self_improve_bench import record, results_index

    results = record.load(path)
    md, _ = record.outputs(path, "table.md", "")
    md.write_text(table(results) + record.notes_markdown(results))
    results_index.refresh(path)
    print(f"wrote {md} from {path}")
    return 0


if __name__ == "__main__":
    # Run as a script, benchmarks/ would come first on sys.path and its scripts would shadow our
    # packages of the same names: the repository root goes there instead.
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
    sys.exit(main())
