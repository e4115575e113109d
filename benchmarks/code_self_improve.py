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
by problem for every gain (arm - base) and every difference between arms. No
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

This script is the benchmark's specification (its tasks, arms, budget and problem clusters); the
harness it runs on is ``benchmarks/self_improve_bench/``: training an arm within its budget
(``arms.py``), pass@1 per problem (``scoring.py``), the summary, table and plot of a record
scored split by split (``by_split.py``) and its provenance (``record.py``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
if __name__ == "__main__":
    # Run as a script, benchmarks/ would come first on sys.path and its scripts (rollouts.py, ...)
    # would shadow our packages of the same names: the repository root goes there instead.
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]

from benchmarks.self_improve_bench import arms, by_split, child, record, scoring  # noqa: E402

CONFIG = REPO / "configs" / "code_rft.yaml"
ARMS = ("ours", "random", "trl_grpo")
SPLITS = ("parametric", "template")
#: Scored greedy only: HumanEval (as its papers report it), the sweep's validation set (picked on greedy pass@1).
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
            "train.time_budget_minutes=null", "train.keep_checkpoints=1000",
            "train.empty_rounds_limit=0",  # an arm records a round that gave nothing to learn; it does not stop
            *args.loop_sets, *args.overrides]
    if arm == "random":
        sets.append("train.reward=random")
    return load_config(CONFIG, sets)


# -- the record: what is summarized, and how ------------------------------------------------------
def clusters(split: str, ids: list[str]) -> list[str] | None:
    """Procedural problems are resampled by template (its instances pass or fail together), HumanEval's one by one."""
    from selfimprove.tasks.code import template_of

    return None if split == "humaneval" else [template_of(i) for i in ids]


def planned_labels(settings: dict[str, Any]) -> list[str]:
    return [label for label, _, _ in planned_runs(argparse.Namespace(**settings))]


SPEC = by_split.Spec(arms=ARMS, clusters=clusters, planned=planned_labels,
                     title="SmolLM2-135M on code, {budget_minutes:g} min of training per arm")


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """pass@1, gains over the base model and differences between arms (random-control seeds pooled as ``random``)."""
    return by_split.summarize(results, SPEC)


def score_policy(checkpoint: str | None, sets: dict[str, list], cfg, args) -> dict[str, Any]:
    """pass@1 of a checkpoint (None: the base model) on each set: greedy, and sampled but on GREEDY_ONLY."""
    from selfimprove.models import load_model
    policy = load_model(checkpoint or cfg.model.name, device="cpu", cache_dir=cfg.model.cache_dir, seed=cfg.run.seed)
    policy.model.eval()
    out: dict[str, Any] = {}
    with cfg.verifier.runtime() as runtime:
        for split, problems in sets.items():
            modes = ["greedy"] if split in GREEDY_ONLY else ["greedy", "sampled"]
            tokens = args.humaneval_tokens if split == "humaneval" else args.eval_tokens
            out[split] = {m: scoring.pass_at_1(policy, problems, cfg, runtime, mode=m, samples=args.samples,
                                               sampled_t=args.temperature, eval_cap=tokens) for m in modes}
            print(f"    {split}: " + ", ".join(f"{m} {scoring.mean_pass(out[split][m]):.3f}" for m in modes),
                  flush=True)
    return out


# -- phases, each in a fresh process (child.in_child) ---------------------------------------------
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
    child.set_threads(args.threads)
    cfg = arm_config(args, "ours")
    sets, _, val = problem_sets(args, cfg)
    return score_policy(checkpoint, {s: val if s == "val" else sets[s] for s in splits}, cfg, args)


def phase_loop_arm(args: argparse.Namespace, arm: str, seed: int | None = None) -> dict[str, Any]:
    child.set_threads(args.threads)
    cfg = arm_config(args, arm, seed)
    shutil.rmtree(cfg.run_dir, ignore_errors=True)  # every invocation trains from the base model
    trained = arms.run_loop_arm(cfg, args.budget_minutes * 60)
    trained["throughput"] = arms.round_throughput(cfg.run_dir)  # #17's bar: verifying under 0.20 with 2 slots
    return trained


def phase_trl(args: argparse.Namespace, lr: float, minutes: float, out_dir: str) -> dict[str, Any]:
    child.set_threads(args.threads)
    cfg = arm_config(args, "trl_grpo")
    _, train, _ = problem_sets(args, cfg)
    trained, _ = arms.run_trl_arm(cfg, train, lr, minutes * 60, Path(out_dir), arms.TRLSettings(), cfg.verifier.name)
    return trained


def build_parser() -> argparse.ArgumentParser:
    """The command line (benchmarks/tune_code.py takes its scoring and loop defaults from it)."""
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if parser.parse_known_args(argv)[0].smoke:  # smoke defaults; flags given still win
        parser.set_defaults(**{k: v for k, v in SMOKE.items() if k != "loop_sets"})
    args = parser.parse_args(argv)
    args.loop_sets = SMOKE["loop_sets"] if args.smoke else []
    for given in (args.resummarize, args.add_humaneval, args.render):
        if given is not None and not given.is_file():
            parser.error(f"{given}: no such record; pass the results JSON a finished run wrote")
    if args.render:
        by_split.render(record.load(args.render), args.render, SPEC, figure=False)
        return 0
    if args.resummarize:
        return by_split.resummarize(args.resummarize, SPEC)
    if args.add_humaneval:
        return add_humaneval(args.add_humaneval)
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
    results["evals"]["base"] = child.in_child(phase_score, args, None, splits)
    save()
    for label, arm, seed in planned_runs(args):
        print(f"arm {label}: {args.budget_minutes:g} min of training", flush=True)
        if arm == "trl_grpo":
            sweep = {}  # one learning rate given: nothing to sweep (say where it came from in the README)
            for lr in (args.trl_lrs if len(args.trl_lrs) > 1 else []):
                rec = child.in_child(phase_trl, args, lr, args.sweep_minutes, str(args.out / "sweep" / f"lr={lr:g}"))
                sweep[f"{lr:g}"] = {**rec, "val": child.in_child(phase_score, args, rec["checkpoint"], ["val"])["val"]}
                print(f"  sweep lr={lr:g}: val greedy pass@1 {scoring.mean_pass(sweep[f'{lr:g}']['val']['greedy']):.3f}", flush=True)
            best = (max(args.trl_lrs, key=lambda lr: (scoring.mean_pass(sweep[f"{lr:g}"]["val"]["greedy"]), -lr))
                    if sweep else args.trl_lrs[0])
            trained = child.in_child(phase_trl, args, best, args.budget_minutes, str(args.out / "trl_grpo"))
            trained["sweep"] = sweep
        else:
            trained = child.in_child(phase_loop_arm, args, arm, seed)
        results["training"][label] = trained
        save()
        print(f"  trained {trained['train_min']:.1f} min, {trained['steps']} steps, {trained['samples']} samples; "
              "scoring", flush=True)
        results["evals"][label] = child.in_child(phase_score, args, trained["checkpoint"], splits)
        save()
    results["finished"], results["loadavg_after"] = record.now(), record.loadavg()
    results["wall_min"] = (time.perf_counter() - t0) / 60
    by_split.write_summary(results, results_path, save, SPEC)
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


def add_humaneval(path: Path) -> int:
    """Score HumanEval (greedy) for the base model and every trained checkpoint of a finished
    record made without ``--humaneval``, with the record's own settings; resummarize it in place."""
    args = argparse.Namespace(**{**record.load(path)["settings"], "humaneval": True})
    args.out = Path(args.out)
    ids = [p.id for p in problem_sets(args, arm_config(args, "ours"))[0]["humaneval"]]
    return by_split.add_split(path, SPEC, "humaneval", ids,
                              lambda checkpoint: child.in_child(phase_score, args, checkpoint, ["humaneval"])["humaneval"])


if __name__ == "__main__":
    sys.exit(main())
