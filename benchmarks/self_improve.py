"""Self-improvement benchmark: our default schedule vs plain TRL GRPO vs a random-reward control.

The embedded SmolLM2-135M-Instruct on CPU, a held-out set of 200 arithmetic problems (1-digit
addition, 1-digit multiplication, 2-digit addition; about a third each), pass@1 of sampling at
the config's temperature. Three arms get the same wall-clock training budget:

- ``ours``: ``selfimprove train`` with configs/benchmark_self_improve.yaml (the default schedule);
- ``trl_grpo``: TRL's GRPOTrainer on the same train prompts with the same verifier as reward and
  TRL's defaults otherwise (only the completion length is set to our token cap, and CPU/fp32);
- ``random``: our schedule with ``train.reward: random`` (coin-flip verdicts while training).

The clock counts training only (sampling, verifying, updating); held-out evaluations pause it,
so every arm's curve has the same x-axis whatever its evaluation cadence. Writes
``<out>/curves.png``, ``<out>/table.md`` and ``<out>/results.json``.

    python benchmarks/self_improve.py --budget-minutes 30 --threads 2          # the full run (~90 min + evals)
    python benchmarks/self_improve.py --budget-minutes 4 --arms ours random     # a smoke run
    python benchmarks/self_improve.py --arms trl_grpo   # adds one arm to the results already in --out

The README's numbers (2026-11-23, one arm at a time on an otherwise idle machine):

    python benchmarks/self_improve.py --budget-minutes 30 --arms ours
    python benchmarks/self_improve.py --budget-minutes 30 --arms trl_grpo --trl-eval-every 30
    python benchmarks/self_improve.py --budget-minutes 30 --arms random --set train.eval_every=1000

(the last two evaluate only at the start and at the budget, to fit the session: evals cost ~3 min
each while the model still writes 50+ tokens per answer, and they pause the clock anyway).

Limits: one seed per arm (wall-clock runs are noisy on a shared machine; compare the curves,
not the third decimal); pass@1 is estimated from ``--eval-samples`` samples per problem.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "benchmark_self_improve.yaml"


def write_problems(data_dir: Path, seed: int = 7) -> dict[str, int]:
    """train.jsonl / test.jsonl: 200 held-out problems in three families, the rest for training."""
    from selfimprove.tasks.arithmetic import generate

    families = [(["+"], 1, 67), (["*"], 1, 67), (["+"], 2, 66)]
    train, test = [], []
    for ops, digits, n_test in families:
        n_train = 33 if digits == 1 else 240
        split = generate(ops, digits, n_train, n_test, seed)
        test += split["test"]
        train += split["train"]
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, problems in (("train", train), ("test", test)):
        rows = [{"question": p.prompt, "answer": p.reference} for p in problems]
        (data_dir / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"train": len(train), "test": len(test)}


def load_cfg(out: Path, arm: str, budget_min: float, eval_samples: int, extra: list[str]):
    from selfimprove.config import load_config

    sets = [f"task.path={out / 'data'}", f"run.output_dir={out / 'runs'}", f"run.name={arm}", "run.overwrite=true",
            f"sampling.num_samples={eval_samples}", f"train.time_budget_minutes={budget_min}", *extra]
    if arm == "random":
        sets.append("train.reward=random")
    return load_config(CONFIG, sets)


def run_ours(out: Path, arm: str, budget_min: float, eval_samples: int, extra: list[str]) -> list[dict]:
    from selfimprove.train.loop import run_train

    cfg = load_cfg(out, arm, budget_min, eval_samples, extra)
    history = run_train(cfg)
    return [{"minutes": h["train_wall_s"] / 60, "pass@1": h["pass@1"], "round": h["round"]} for h in history]


def run_trl_grpo(out: Path, budget_min: float, eval_samples: int, eval_every_min: float, extra: list[str]) -> list[dict]:
    """Plain GRPOTrainer: TRL defaults except the token cap and CPU/fp32; evaluations pause the clock."""
    import datasets
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from selfimprove import rundir
    from selfimprove.evaluate import evaluate as evaluate_policy
    from selfimprove.models import load_model
    from selfimprove.prompts import build_messages
    from selfimprove.tasks import load_task
    from selfimprove.tasks.base import cap_split
    from selfimprove.sampling import make_runtime
    from verifiers.trl_reward import reward_function

    cfg = load_cfg(out, "trl_grpo", budget_min, eval_samples, extra)
    run_dir = rundir.prepare(cfg)
    splits = load_task(cfg.task)
    test = cap_split(splits["test"], cfg.eval.max_problems)
    loaded = load_model(cfg.model.name, device="cpu", cache_dir=cfg.model.cache_dir, seed=cfg.run.seed)
    loaded.name = "trl-grpo"
    rows = [{"prompt": build_messages(p, cfg.task), "reference": p.reference} for p in splits["train"]]
    curve: list[dict] = []

    with make_runtime(cfg) as runtime:
        def evaluate(minutes: float) -> None:
            loaded.tokenizer.padding_side = "left"
            # the one evaluation (and seed) our loop uses, so every arm is scored on the same draws at step 0
            metrics, _ = evaluate_policy(loaded, test, cfg, runtime)
            curve.append({"minutes": minutes, "pass@1": metrics["pass@1"]})
            print(f"trl_grpo: {minutes:.1f} min  pass@1={metrics['pass@1']:.3f}", flush=True)

        class Clock(TrainerCallback):
            """Stops at the budget; evaluates every ``eval_every_min`` of training time, off the clock."""

            def __init__(self) -> None:
                self.spent, self.since, self.next_eval = 0.0, time.perf_counter(), eval_every_min * 60

            def on_step_end(self, args, state, control, **kw):
                self.spent += time.perf_counter() - self.since
                if self.spent >= self.next_eval or self.spent >= budget_min * 60:
                    was = loaded.model.training
                    evaluate(self.spent / 60)
                    loaded.model.train(was)
                    self.next_eval += eval_every_min * 60
                if self.spent >= budget_min * 60:
                    control.should_training_stop = True
                self.since = time.perf_counter()
                return control

        evaluate(0.0)
        args = GRPOConfig(output_dir=str(run_dir / "trainer"), max_completion_length=cfg.sampling.max_new_tokens,
                          use_cpu=True, bf16=False, report_to=[], save_strategy="no", max_steps=10**6,
                          seed=cfg.run.seed)
        trainer = GRPOTrainer(model=loaded.model, reward_funcs=[reward_function(runtime)], args=args,
                              train_dataset=datasets.Dataset.from_list(rows), processing_class=loaded.tokenizer,
                              callbacks=[Clock()])
        trainer.train()
    return curve


def plot(results: dict[str, list[dict]], path: Path, budget_min: float, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for arm, curve in results.items():
        ax.plot([p["minutes"] for p in curve], [p["pass@1"] for p in curve], marker="o", label=arm)
    ax.set_xlabel("training wall-clock (min, evaluations excluded)")
    ax.set_ylabel("held-out pass@1")
    ax.set_xlim(0, budget_min * 1.05)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def within_budget(curve: list[dict], budget_min: float) -> list[dict]:
    """The curve up to the budget. A round or step that started before the budget ends after it;
    5% slack admits TRL's one step in flight, and a longer overrun does not count for any arm."""
    return [p for p in curve if p["minutes"] <= budget_min * 1.05] or curve[:1]


def table(results: dict[str, list[dict]], budget_min: float) -> str:
    lines = [f"| arm | pass@1 start | pass@1 at budget | gain | at minute | evals | last eval (over budget) |",
             "|---|---|---|---|---|---|---|"]
    gains = {}
    for arm, curve in results.items():
        kept = within_budget(curve, budget_min)
        start, end = kept[0]["pass@1"], kept[-1]["pass@1"]
        gains[arm] = end - start
        over = f"{curve[-1]['pass@1']:.3f} at {curve[-1]['minutes']:.1f} min" if len(kept) < len(curve) else "-"
        lines.append(f"| {arm} | {start:.3f} | {end:.3f} | {end - start:+.3f} | {kept[-1]['minutes']:.1f} "
                     f"| {len(curve)} | {over} |")
    if "ours" in gains and "trl_grpo" in gains:
        ratio = f"{gains['ours'] / gains['trl_grpo']:.2f}" if gains["trl_grpo"] > 0 else "n/a (TRL gained nothing)"
        lines.append(f"\nours / trl_grpo gain ratio: {ratio}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-minutes", type=float, default=30.0, help="training wall-clock per arm")
    parser.add_argument("--arms", nargs="+", default=["ours", "trl_grpo", "random"],
                        choices=["ours", "trl_grpo", "random"])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "bench-self-improve")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the task's 2 CPU cores)")
    parser.add_argument("--eval-samples", type=int, default=2, help="held-out samples per problem for pass@1")
    parser.add_argument("--trl-eval-every", type=float, default=5.0, help="trl_grpo: minutes of training between evals")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra config override for every arm (e.g. train.prompts_per_round=32)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    random.seed(0)
    counts = write_problems(args.out / "data")
    print(f"problems: {counts}; budget {args.budget_minutes} min per arm; threads {args.threads}", flush=True)
    # Arms run in separate invocations add up: earlier arms' results are kept unless re-run.
    previous = json.loads((args.out / "results.json").read_text()) if (args.out / "results.json").exists() else {}
    if previous and previous.get("budget_minutes") != args.budget_minutes:
        previous = {}  # a different budget is a different experiment
    results: dict[str, list[dict]] = {a: c for a, c in previous.get("curves", {}).items() if a not in args.arms}
    walls: dict[str, float] = {a: w for a, w in previous.get("total_wall_s", {}).items() if a not in args.arms}
    if results:
        print(f"kept earlier results of {sorted(results)} from {args.out / 'results.json'}", flush=True)
    for arm in args.arms:
        t0 = time.perf_counter()
        if arm == "trl_grpo":
            results[arm] = run_trl_grpo(args.out, args.budget_minutes, args.eval_samples, args.trl_eval_every,
                                        args.overrides)
        else:
            results[arm] = run_ours(args.out, arm, args.budget_minutes, args.eval_samples, args.overrides)
        walls[arm] = time.perf_counter() - t0
        (args.out / "results.json").write_text(json.dumps({"curves": results, "total_wall_s": walls,
                                                           "budget_minutes": args.budget_minutes}, indent=2))
    model = next((o.split("=", 1)[1] for o in args.overrides if o.startswith("model.name=")), "SmolLM2-135M")
    plot(results, args.out / "curves.png", args.budget_minutes,
         f"{model}, {counts['test']} held-out problems, {args.threads} CPU threads")
    text = table(results, args.budget_minutes)
    (args.out / "table.md").write_text(text + "\n")
    print("\n" + text)
    print(f"\nwrote {args.out}/curves.png, table.md, results.json")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
