"""The self-improvement loop: rounds of collect -> train -> eval, each round's strategy from
``train.schedule``.

``selfimprove train --config configs/quickstart.yaml`` runs :func:`run_train`. Each round:

1. ``collect``: the round's strategy samples and selects its data through a
   :class:`~selfimprove.train.context.RoundContext`: it runs its ``generate`` phase, and
   whichever others it has, in order; each sampling phase is committed to the trace store;
2. ``train``: the strategy updates the policy in memory; the loop saves the checkpoint;
3. ``eval``: pass@k on the held-out split (every ``train.eval_every`` rounds and the last).

The loop knows no strategy by name: it owns phases, commits, resume, evaluation and the time
budget, and a new strategy is one module plus one line in
:data:`selfimprove.train.strategies.STRATEGIES`.

Resume. Each phase ends with a commit (:class:`~selfimprove.train.ledger.Ledger`): its traces
into the store (see :mod:`selfimprove.store`), or for ``train`` the checkpoint directory (which also holds
the rollouts sampled during the update and the step count), then ``state.json``. ``--resume``
skips completed phases, adopts a phase whose outputs were committed just before a crash, and
re-runs the phase that was interrupted from its start with the same seed. So traces are stored
exactly once, the optimizer-step counter continues, and no completed work is redone. A crash
inside ``train`` loses that round's update (it is redone from the last checkpoint).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from selfimprove import distributed, rundir
from selfimprove.config import Config
from selfimprove.console import Console, run_log
from selfimprove.failpoints import failpoint
from selfimprove.evaluate import evaluate
from selfimprove.metrics import summarize
from selfimprove.tasks import load_task
from selfimprove.tasks.base import cap_split
from selfimprove.tracking import build_tracker
from selfimprove.train.context import RoundContext
from selfimprove.train.curriculum import PassRates
from selfimprove.train.policy import load_policy, save_checkpoint
from selfimprove.train.random_control import training_runtime
from selfimprove.train.ledger import Ledger
from selfimprove.train.report import SAMPLE_COLUMNS, eval_line, eval_metrics, sample_rows, summary_table
from selfimprove.train.state import TrainState
from selfimprove.train import trainers
from selfimprove.train import preemption
from selfimprove.store import TraceStore, write_traces
from selfimprove.train.throughput import RoundClock, trained_tokens
from selfimprove.train.strategies import RoundData, Strategy, UpdateResult, build_strategy, check_schedule

log = logging.getLogger(__name__)


class Loop:
    def __init__(self, cfg: Config, run_dir: Path, runtime, *, quiet: bool = False):
        self.cfg, self.run_dir, self.runtime = cfg, run_dir, runtime
        self.world = distributed.init()
        self.store = TraceStore(run_dir / "traces")
        self.state = TrainState.load(run_dir)
        self.tracker = build_tracker(cfg, run_dir, is_main=self.world.is_main)
        self.console = Console(cfg.train.rounds, enabled=self.world.is_main and not quiet,
                               budget_minutes=cfg.train.time_budget_minutes)
        splits = load_task(cfg.task)
        self.test_split = cap_split(splits["test"], cfg.eval.max_problems)
        if not splits["train"]:
            raise ValueError(f"task '{cfg.task.name}' has no train split; set task.num_train or task.train_split")
        rates = PassRates()
        for entry in self.store.entries:  # pass rates are derived data: rebuild them from the store
            if entry["phase"] == "generate":
                rates.update(self.store.read(entry["round"], "generate")[0])
        self.ledger = Ledger(cfg, run_dir, self.store, self.state, self.world, self.tracker, self.console)
        self.ctx = RoundContext(cfg, splits["train"], rates, self.store, training_runtime(cfg, runtime),
                                lambda: self.policy, self.ledger)
        self.strategies: dict[str, Strategy] = {}
        self.policy = load_policy(cfg, self.state.checkpoint)
        if self.state.checkpoint:
            self.policy.name = self._policy_name(self.state.checkpoint)

    def _policy_name(self, checkpoint: str | None) -> str:
        return self.cfg.model.name if checkpoint is None else str(Path(checkpoint).relative_to(self.run_dir))

    # -- phases (a strategy runs its own sampling phases: RoundContext.phase) --

    def train(self, round: int, strategy: Strategy, data: RoundData) -> None:
        ckpt = self.run_dir / "checkpoints" / f"round-{round:03d}"
        if self.state.done(round, "train"):
            self._log_train(round, ckpt)  # lines a crash right after the commit did not write
            return
        if not (ckpt / "round.json").exists():  # else: saved just before a crash, adopt it below
            preemption.check(f"round {round} train")  # a stop requested (SIGTERM, ...) ends the run here
            t0 = time.perf_counter()
            if strategy.starts_from_base():
                self.policy = load_policy(self.cfg, None)
            try:
                result = strategy.update(self.policy, data, seed=self.ctx.seed(round, "train"))
                trainers.check_finite(self.policy.model)
            except trainers.NonFiniteUpdateError as exc:
                raise trainers.NonFiniteUpdateError(self._non_finite(round, strategy.name, exc)) from None
            trainers.collect_garbage()  # the update's trainer (and engine) is gone before anything else runs
            seconds = time.perf_counter() - t0
            clock = self.ledger.clock
            clock.train_s, clock.trained_tokens = seconds, trained_tokens(result.log_history)
            if self.world.is_main:
                self._save_round(ckpt, round, strategy.name, result, seconds)
            distributed.barrier()
            failpoint("checkpoint-commit")
            shutil.rmtree(self.run_dir / "trainer", ignore_errors=True)
        else:
            self.policy = load_policy(self.cfg, str(ckpt))
        info = json.loads((ckpt / "round.json").read_text())
        if (ckpt / "rollouts.parquet").exists() and not self.store.has(round, "rollouts") and self.world.is_main:
            traces, kept = TraceStore.read_file(ckpt / "rollouts.parquet")
            self.store.commit(round, "rollouts", traces, kept=kept, sampling=info.get("sampling", {}))
        self.policy.name = self._policy_name(str(ckpt))
        self._log_train(round, ckpt, trainer_only=True)
        self.ledger.complete(round, "train", info["seconds"], global_step=self.state.global_step + info["steps"],
                       checkpoint=str(ckpt), checkpoints=self.state.checkpoints + [str(ckpt)])
        failpoint("train-done")
        self._log_train(round, ckpt)
        self.ledger.empty.updated(round, info["strategy"], info["steps"])
        loss = info["metrics"].get("train/loss")
        self.console.phase(round, "train", info["seconds"], {"strategy": info["strategy"], "steps": str(info["steps"]),
                                                             **({"loss": f"{loss:.3f}"} if loss is not None else {})})
        self._prune_checkpoints()

    def _log_train(self, round: int, ckpt: Path, trainer_only: bool = False) -> None:
        """The train phase's metrics lines, each written once however the run was interrupted: the
        trainer's log dicts at their global step (before the phase is marked done), then its summary."""
        info_path = ckpt / "round.json"
        if not info_path.exists():  # a checkpoint pruned since (keep_checkpoints): its lines are long written
            return
        info = json.loads(info_path.read_text())
        done = self.state.done(round, "train")
        start = self.state.global_step - (info["steps"] if done else 0)
        for i, entry in enumerate(info.get("log_history", [])):
            self.ledger.log({f"trainer/{k}": v for k, v in entry.items() if k != "step"}, round,
                            step=start + entry.get("step", 0), line=f"{round}:train:{i}")
        if not trainer_only:
            self.ledger.log(info["metrics"] | {"time/train_s": info["seconds"], "train/steps": info["steps"]}, round,
                            line=f"{round}:train")

    def _non_finite(self, round: int, strategy: str, exc: Exception) -> str:
        options = getattr(self.cfg.train, strategy, None)
        rate = getattr(options, "learning_rate", None)
        cause = (f"train.{strategy}.learning_rate={rate:g} is likely too high" if rate is not None
                 else "the learning rate is likely too high") + " (or fp16 overflowed; bf16 or float32 do not)"
        kept = self.state.checkpoint or self.cfg.model.name
        return (f"round {round} ({strategy}) {exc}: the update is not committed and {kept} stays the policy; "
                f"{cause}. Continue with --resume and a lower rate, e.g. --set train.{strategy}.learning_rate=...")

    def _save_round(self, ckpt: Path, round: int, name: str, result: UpdateResult, seconds: float) -> None:
        """Checkpoint + the update's rollouts + its step count, committed as one directory rename."""
        info = {"round": round, "strategy": name, "steps": result.steps, "seconds": seconds, "metrics": result.metrics,
                "sampling": result.sampling, "log_history": result.log_history}

        def extras(tmp: Path) -> None:
            if result.files is not None:  # e.g. the optimizer state a next round resumes
                for path in result.files.iterdir():
                    shutil.move(str(path), tmp / path.name)
            if result.traces:
                write_traces(tmp / "rollouts.parquet", result.traces, phase="rollouts", kept=[True] * len(result.traces),
                             sampling=result.sampling)
            (tmp / "round.json").write_text(json.dumps(info, default=float))

        save_checkpoint(self.policy, ckpt, extras=extras)

    def _prune_checkpoints(self) -> None:
        if not self.world.is_main:
            return
        for path in self.state.checkpoints[: -self.cfg.train.keep_checkpoints]:
            if Path(path).exists():
                shutil.rmtree(path)

    def eval_phase(self, round: int, strategy: str = "-") -> dict[str, Any]:
        if self.state.done(round, "eval"):
            return next(h for h in self.state.history if h["round"] == round)
        t0 = time.perf_counter()
        if self.store.has(round, "eval"):  # committed just before a crash: adopt, do not sample again
            traces = self.store.read(round, "eval")[0]
            metrics = summarize(traces, self.cfg.eval.ks, check_boxed="\\boxed" in self.cfg.task.prompt_template)
        else:
            preemption.check(f"round {round} eval")
            metrics, traces = evaluate(self.policy, self.test_split, self.cfg, self.runtime, round=round)
            failpoint("eval")
            self.ledger.commit(round, "eval", traces, [False] * len(traces), self.cfg.sampling.num_samples)
            failpoint("eval-commit")
        seconds = time.perf_counter() - t0
        self.ledger.clock.eval_s += seconds
        self.ledger.log(eval_metrics(metrics) | {"time/eval_s": seconds}, round, line=f"{round}:eval")
        self.tracker.log_table("samples", SAMPLE_COLUMNS, sample_rows(traces, self.cfg.logging.sample_traces),
                               step=self.state.global_step)
        summary = {"round": round, "strategy": strategy, "global_step": self.state.global_step,
                   "train_wall_s": self.state.train_wall_s, "eval_s": seconds,
                   **{k: v for k, v in metrics.items() if k != "status_counts"}}
        if round > 0:
            self._log_throughput(round)
        self.ledger.complete(round, "eval", seconds, eval_phase=True, history=self.state.history + [summary],
                       rounds_done=max(self.state.rounds_done, round))
        self.console.phase(round, "eval", seconds, eval_line(metrics, self.cfg.eval.ks))
        return summary

    def _log_throughput(self, round: int) -> None:
        """Where the round's time went (``throughput/*``), written once, before the round is marked done."""
        self.ledger.log(self.ledger.clock.metrics(parameters=self.policy.model.num_parameters(),
                                                  world_size=self.world.world_size, peak_tflops=self.cfg.train.peak_tflops),
                        round, line=f"{round}:throughput")

    # -- the loop --

    def budget_left(self) -> bool:
        budget = self.cfg.train.time_budget_minutes
        return budget is None or self.state.train_wall_s < budget * 60

    def strategy(self, round: int) -> Strategy:
        name = self.cfg.train.strategy_for(round)
        if name not in self.strategies:
            self.strategies[name] = build_strategy(name, self.cfg, self.ctx.runtime, self.run_dir / "trainer")
        return self.strategies[name]

    def run(self) -> list[dict[str, Any]]:
        t = self.cfg.train
        if t.eval_before:
            self.eval_phase(0, "base")
        for round in range(1, t.rounds + 1):
            if self.state.done(round, "eval"):
                continue
            if not self.state.done(round, "generate") and not self.budget_left():
                self.console.say(f"time budget of {t.time_budget_minutes} min spent; stopping before round {round}")
                break
            preemption.check(f"round {round} sampling")
            self.console.start_round()
            self.ledger.clock = RoundClock()
            self.ledger.empty.start(round)
            strategy = self.strategy(round)
            data = strategy.collect(round, self.ctx)  # a phase the verifier graded nothing of may stop the run
            self.train(round, strategy, data)
            self.ledger.empty.check()
            last = round == t.rounds or not self.budget_left()
            if last or round % t.eval_every == 0:
                self.eval_phase(round, strategy.name)
            else:  # the round is complete all the same ("eval" marks a round done for --resume)
                self._log_throughput(round)
                self.ledger.complete(round, "eval", 0.0, eval_phase=True, rounds_done=max(self.state.rounds_done, round))
            failpoint("round-end")
            self.console.end_round()
            self.console.say(f"round {round}/{t.rounds}  done{self.console.eta(round, self.state.train_wall_s)}"
                             + ("" if last or round % t.eval_every == 0 else f" (eval skipped: train.eval_every={t.eval_every})"))
        return self.state.history


def run_train(cfg: Config, *, resume: bool = False, quiet: bool = False) -> list[dict[str, Any]]:
    """The ``selfimprove train`` job. Returns the per-round eval history."""
    import datasets

    from selfimprove import configio

    check_schedule(cfg.train.schedule)
    datasets.disable_progress_bars()  # per-round tokenizing bars would bury the round summaries
    run_dir = cfg.run_dir
    if resume and not (run_dir / "config.yaml").exists():
        raise rundir.RunDirError(f"--resume: {run_dir} holds no run (no config.yaml); check run.name / run.output_dir")
    # The process group first: without it the barrier below is a no-op and, with run.overwrite,
    # other ranks could read the old run's state while rank 0 deletes it.
    if distributed.init().is_main:
        run_dir = rundir.prepare(cfg, resume=resume)
    distributed.barrier()
    with run_log(run_dir, enabled=distributed.world().is_main), cfg.verifier.runtime() as runtime:
        loop = Loop(cfg, run_dir, runtime, quiet=quiet)
        if resume:
            orphans = (loop.store.remove_orphans() + rundir.remove_leftovers(run_dir)) if loop.world.is_main else []
            loop.console.say(f"resuming {run_dir}: {len(loop.state.completed)} phases done, step {loop.state.global_step}"
                             + (f", removed {len(orphans)} uncommitted file(s)" if orphans else ""))
        loop.tracker.log_config(configio.to_dict(cfg))
        try:
            history = loop.run()
        finally:
            loop.tracker.finish()
    if history and loop.world.is_main and not quiet:
        print(f"\n{cfg.model.name} on {cfg.task.name}: held-out results per round")
        print(summary_table(history, cfg.eval.ks))
        first, last = history[0], history[-1]
        print(f"\npass@1 before: {first.get('pass@1', float('nan')):.3f}   after: {last.get('pass@1', float('nan')):.3f}"
              f"   (train wall-clock {last['train_wall_s'] / 60:.1f} min; run dir {run_dir}; log {run_dir}/train.log)")
    return history
