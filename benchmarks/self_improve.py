"""Self-improvement benchmark (issue #12): our loop against tuned peers on leakage-free splits.

One invocation trains every arm from the same base model (SmolLM2-135M-Instruct by default) on
the same train split, with the same verifier and training token cap, for the same training
wall-clock budget (evaluations off the clock), scores each on the same held-out problems, and
writes the record: ``results.json`` (settings, git commit, ``pip freeze``, machine, load average
before and after, every arm's resolved config, the sweep, per-problem results and the summary),
``table.md`` and ``gains.png`` rendered from it.

Arms:

- ``ours``: ``selfimprove train`` with configs/benchmark_self_improve.yaml as it is (rft rounds
  with the pass-rate curriculum, chosen on a dev split by benchmarks/tune_self_improve.py; the
  same file is used to develop and to measure).
- ``trl_grpo_tuned``: TRL's GRPOTrainer as a competent user sets it: T 0.7, 4 prompts x 8
  generations per step, DAPO loss, beta 0, clip-higher (epsilon 0.2 / 0.28), constant learning
  rate picked by a sweep (``--sweep-lrs``, default 1e-5, 3e-5, 1e-4) on a validation split carved
  from train, scored by greedy pass@1. With ``--sweep-minutes`` equal to the budget (the default)
  each sweep run is a full-budget run and the best one *is* the arm (no retraining).
- ``plain_rft``: our loop reduced to sample -> keep verified (per-prompt cap, dedupe) -> TRL
  SFTTrainer at our RFT learning rate: no curriculum, no STaR hints, no accumulation across
  rounds, and verified traces fill the cap at random (not shortest first).
- ``ours_grpo``: our grpo strategy alone (our engine, one optimizer across grpo rounds, reuse of
  the generate phase's groups with per-step dynamic sampling and truncated importance sampling),
  at the learning rate its own sweep chose: the same grid, split and selection as TRL's (until
  2026-12-07 it trained at TRL's choice).
- ``random``: the random-reward control, ``ours`` with ``train.reward: shuffled``: the verifier's
  verdicts on each training batch, permuted among its samples, so it trains on as many "correct"
  samples as ``ours`` would at the same pass rate, chosen without regard to correctness. (Until
  2026-12-01 it used ``train.reward: random``, coin flips, which keep half of all samples: far
  more self-training than the verifier allows, so its gain was not a signal-free baseline.)

Problems (``self_improve_bench/data.py``): 2-digit + and 2-digit x 1-digit (train / val / test,
no canonical key in two splits, checked) and 3-digit + as an out-of-distribution probe that no
arm trains on. Scoring (``self_improve_bench/scoring.py``): greedy and sampled pass@1 (T 0.7,
``--eval-samples``), lenient (the math verifier) and strict (the answer in the requested
``\\boxed{}``), at ``--eval-cap`` tokens (where the base model truncates few answers) and at the
64-token training cap beside it, with truncation and format rates. Every gain and every
difference between arms carries a 95% paired bootstrap interval over problems; no ratios.

    python benchmarks/self_improve.py                 # the measured run: 102 min on 2 quiet CPU cores (2026-12-01)
    python benchmarks/self_improve.py --smoke         # every arm end to end on tiny budgets: minutes
    python benchmarks/self_improve.py --resume        # continue a killed run (same commit, same settings)
    python benchmarks/self_improve.py --report runs/bench-self-improve/results.json   # re-render table + PNG
    python benchmarks/self_improve.py --strict-format # every arm trained on the strict-format reward
    python benchmarks/self_improve.py --seeds 0 1 2 --arms ours plain_rft trl_grpo_tuned random   # seeds

Scoring (``--scorer``, ``self_improve_bench/scorer.py``): where the CPU vLLM environment exists
(``bash launch/setup_vllm.sh``), every policy is scored with the ``vllm`` backend in that
environment, after a parity check against ``hf`` (the base model's greedy answers on the
validation split, compared token for token; the record states the share identical and both
passes' seconds). Training and the sweeps' validation scores stay on ``hf`` in this interpreter.

Each phase (the base model's evaluation, one sweep run, one arm: train then evaluate) runs in its
own process and commits its results to ``results.json`` when it ends, so a killed run loses at
most the phase in flight; ``--resume`` reruns that phase (a loop arm continues from its last
completed round).

Seeds: on this benchmark one training run's outcome depends on its seed far more than on the
problems it is scored on (the dev split, benchmarks/results/tune_self_improve_2026-12-01.md: one
config gave 0.475, 0.240, 0.505 with seeds 0, 1, 2). ``--seeds`` trains every arm once per run
seed (``run.seed``: sampling, shuffling and the TRL trainer); an arm's score is then its mean
over seeds, and its intervals resample seeds as well as problems. The TRL learning rate is swept
at the first seed only; the other seeds train at the chosen rate. All arms run at the first seed
before any runs at the second, so a stopped run still holds a complete one-seed record. Cost:
about 12 min per arm and seed on 2 CPU cores.

Limits: by default one training run per arm (the intervals then cover problem sampling, not
seed-to-seed variance of training); wall-clock budgets make results depend on the machine and its load (the
record keeps the load average); rounds of the loop arms are indivisible, so a loop arm may use
up to one round less than the budget (the record says how much each arm used).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
CONFIG = REPO / "configs" / "benchmark_self_improve.yaml"
ARMS = ("ours", "trl_grpo_tuned", "plain_rft", "ours_grpo", "random")

#: The measured run (sizes per trained family). Planned time on 2 quiet cores: training 7 runs x 7 min
#: (4 loop arms + 3 full-length sweep runs, the best of which is the TRL arm) = 49 min; cap
#: calibration ~2 min; 6 scorings of 250 problems x (1 greedy + 4 sampled) at the calibrated cap,
#: ~4-7 min each; 3 sweep validation evals ~1 min each; process start-up ~2 min: ~85-100 min.
#: Measured 2026-11-30, before row-compacted decoding: 127 min, of which scoring took ~75; 2026-12-01, with it:
#: 92 min (eval cap 256; scoring 48 min, 26 of them the base model and the collapsed ours_grpo: long answers);
#: the second run that day (shuffled control, a different CPU), 102 min.
FULL = dict(budget_minutes=7.0, sweep_lrs=[1e-5, 3e-5, 1e-4], train=300, val=30, test=100, ood=50, eval_cap="auto",
            cap_ladder=[64, 96, 128, 192, 256, 384, 512], eval_samples=4, val_eval=30,
            trl=dict(prompts_per_step=4, num_generations=8), loop_overrides=[])
#: --smoke: every code path, tiny sizes (numbers mean nothing).
SMOKE = dict(budget_minutes=1.5, sweep_lrs=[1e-5, 3e-5], train=16, val=4, test=6, ood=4, eval_cap="auto",
             cap_ladder=[24, 32, 48], eval_samples=2, val_eval=4, trl=dict(prompts_per_step=2, num_generations=4),
             loop_overrides=["sampling.max_new_tokens=24", "train.prompts_per_round=4", "train.rft.samples_per_prompt=4",
                             "train.rft.rationalize.max_prompts=2", "train.rft.batch_size=8",
                             "train.grpo.num_generations=4", "train.grpo.prompts_per_step=2",
                             "train.grpo.steps_per_round=1"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=None, help="output directory (default runs/bench-self-improve[-smoke])")
    p.add_argument("--smoke", action="store_true", help="tiny budgets and sizes: checks every path, measures nothing")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--report", type=Path, default=None, metavar="RESULTS_JSON", help="only re-render table and PNG")
    p.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    p.add_argument("--budget-minutes", type=float, help="training wall-clock per arm")
    p.add_argument("--sweep-minutes", type=float, help="training per sweep run (default: the budget; then the best "
                                                         "sweep run of trl_grpo_tuned and of ours_grpo is that arm)")
    p.add_argument("--sweep-lrs", type=float, nargs="+", help="learning rates of the sweeps (the same grid for TRL's "
                   "GRPO and ours)")
    p.add_argument("--eval-cap", type=int, help="max new tokens when scoring (default: the smallest of the ladder at "
                                                "which the base model truncates < 10%% of its validation answers)")
    p.add_argument("--eval-samples", type=int, help="samples per problem for sampled pass@1 (>= 4 for the record)")
    p.add_argument("--test-per-family", type=int, dest="test")
    p.add_argument("--ood", type=int, help="OOD probe problems")
    p.add_argument("--model", default=None, help="model.name for every arm (default: the config's)")
    p.add_argument("--strict-format", action="store_true", help="train every arm on the 'strict' verifier's reward")
    p.add_argument("--seed", type=int, default=2026, help="seed of the problem splits")
    p.add_argument("--seeds", type=int, nargs="+", metavar="RUN_SEED",
                   help="train every arm once per run seed; scores are means over seeds, intervals resample "
                        "seeds too (default: one run, at the config's run.seed)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads (1 on a busy machine: two threads "
                                                          "on two oversubscribed cores stall each other)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every loop arm (recorded with the settings)")
    p.add_argument("--scorer", default="auto", choices=("auto", "hf", "vllm"),
                   help="engine that scores the policies (training is unchanged): vllm runs the scoring phases in "
                        "the CPU vLLM environment (launch/setup_vllm.sh; SELFIMPROVE_VLLM_VENV), after a parity check "
                        "against hf on the validation split; auto = vllm where that environment exists")
    p.add_argument("--phase", help=argparse.SUPPRESS)  # internal: run one phase of the run in --out
    args = p.parse_args(argv)
    if args.out is None:
        args.out = REPO / "runs" / ("bench-self-improve-smoke" if args.smoke else "bench-self-improve")
    return args


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.self_improve_bench import scorer
    from benchmarks.self_improve_bench.summary import SWEPT
    from selfimprove.config import load_config

    base = dict(SMOKE if args.smoke else FULL)
    for key in ("budget_minutes", "sweep_lrs", "eval_cap", "eval_samples", "test", "ood"):
        if getattr(args, key) is not None:
            base[key] = getattr(args, key)
    cfg = load_config(CONFIG, [*base["loop_overrides"], *args.overrides])
    return {
        **base, "smoke": args.smoke, "arms": list(args.arms), "seed": args.seed,
        "sweep_minutes": args.sweep_minutes if args.sweep_minutes is not None else base["budget_minutes"],
        "model": args.model or cfg.model.name, "train_cap": cfg.sampling.max_new_tokens,
        "sampled_temperature": 0.7, "strict_format": args.strict_format,
        "loop_overrides": [*base["loop_overrides"], *args.overrides], "threads": args.threads,
        "seeds": _unique(args.seeds) if args.seeds else [cfg.run.seed],
        "swept_arms": [a for a in SWEPT if a in args.arms], "scorer": scorer.resolve(args.scorer),
    }


def _unique(seeds: list[int]) -> list[int]:
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"--seeds: {seeds} repeats a seed; each seed is one training run")
    return seeds


# -- the parent: plan, provenance, one process per phase -----------------------------------------

def plan(settings: dict[str, Any]) -> list[str]:
    phases = (["calibrate"] if settings["eval_cap"] == "auto" else []) + ["eval/base"]
    from benchmarks.self_improve_bench import scorer
    from benchmarks.self_improve_bench.summary import run_label, sweep_phase, swept_arms

    phases += [sweep_phase(arm, lr) for arm in swept_arms(settings) for lr in settings["sweep_lrs"]]
    # every arm at the first seed, then every arm at the next: a stopped run is a complete record of fewer seeds
    phases += [f"arm/{run_label(arm, seed, settings)}" for seed in settings["seeds"] for arm in settings["arms"]]
    return scorer.plan(settings, phases)


def start(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.self_improve_bench import data, record

    path = args.out / "results.json"
    settings = resolve_settings(args)
    git = record.git_state()
    if args.resume:
        results = record.load(path)
        if results["settings"] != settings:
            changed = sorted(k for k in set(settings) | set(results["settings"])
                             if settings.get(k) != results["settings"].get(k))
            raise SystemExit(f"--resume: settings differ from {path} in {changed}; pass the same flags")
        started_at = results["environment"]["git_commit"]
        changed = record.code_changes(started_at) if started_at != git["git_commit"] else []
        if changed:
            raise SystemExit(f"--resume: {path} was started at commit {started_at[:12]}; since then HEAD "
                             f"({git['git_commit'][:12]}) changed {changed[:5]}{' ...' if len(changed) > 5 else ''}: "
                             f"check {started_at[:12]} out or start over")
    else:
        if args.out.exists() and any(args.out.iterdir()):
            if not args.overwrite:
                raise SystemExit(f"{args.out} exists; pass --resume to continue it or --overwrite to start over")
            shutil.rmtree(args.out)
        splits = data.build(train=settings["train"], val=settings["val"], test=settings["test"],
                            ood=settings["ood"], seed=settings["seed"])
        data.write_training_files(splits, args.out / "data")
        results = {
            "schema": 1, "settings": settings,
            "environment": {**git, "pip_freeze": record.pip_freeze(), "machine": record.machine()},
            "invocations": [], "phases": {}, "evals": {},
            "data": {"sizes": splits.sizes(), "train_problems": len(splits.train),
                     "leakage_check": "passed: no canonical key in two of train / val / test / ood",
                     "problems": {s: data.as_records(getattr(splits, s), splits.family) for s in ("val", "test", "ood")}},
        }
    results["invocations"].append({"started": record.now(), "argv": sys.argv[1:], "git_commit": git["git_commit"],
                                   "git_status": git["git_status"], "loadavg_before": record.loadavg(),
                                   "machine": record.machine()})  # a resumed run may continue on another machine
    record.save(path, results)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.report is not None:
        return render(args.report)
    if args.phase is not None:
        from benchmarks.self_improve_bench.phases import run_phase

        return run_phase(args.out, args.phase)
    from benchmarks.self_improve_bench import record, scorer, summary

    results = start(args)
    settings = results["settings"]
    print(f"self-improvement benchmark -> {args.out}; arms {settings['arms']}; budget {settings['budget_minutes']:g} "
          f"min per arm; scored with {settings['scorer']}; load average {results['invocations'][-1]['loadavg_before']}",
          flush=True)
    for phase in plan(settings):
        if results["phases"].get(phase, {}).get("done"):
            continue
        print(f"== {phase}", flush=True)
        cmd = [scorer.python_for(phase, settings["scorer"]), str(SCRIPT), "--out", str(args.out), "--phase", phase,
               "--threads", str(args.threads)]
        subprocess.run(cmd, check=True)
        results = record.load(args.out / "results.json")
    results["summary"] = summary.summarize(results)
    results["invocations"][-1].update(finished=record.now(), loadavg_after=record.loadavg())
    record.save(args.out / "results.json", results)
    return render(args.out / "results.json")


def render(path: Path) -> int:
    """Table (with the record's notes) and PNG: beside a run's results.json, table.md and gains.png;
    beside a committed NAME.json, NAME.md and NAME.png (and the results index is regenerated)."""
    from benchmarks.self_improve_bench import record, report, results_index, summary

    results = record.load(path)
    if "summary" not in results:  # a partial record: summarise what there is
        results["summary"] = summary.summarize(results)
    md, png = record.outputs(path, "table.md", "gains.png")
    text = report.markdown(results) + record.notes_markdown(results)
    md.write_text(text)
    report.plot(results, png)
    results_index.refresh(path)
    print("\n" + text + f"\nwrote {md} and {png} from {path}")
    return 0


if __name__ == "__main__":
    # Run as a script, benchmarks/ would come first on sys.path, and its scripts (rollouts.py, ...)
    # would shadow our packages of the same names: the repository root goes there instead.
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
    sys.exit(main())
