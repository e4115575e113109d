"""The self-improvement loop: rounds of generate -> (rationalize, refine) -> train -> eval.

``selfimprove train --config configs/quickstart.yaml`` runs :func:`run_train`. Each round:

1. ``generate``: draw ``train.prompts_per_round`` train prompts (curriculum), sample
   ``samples_per_prompt`` attempts each (``grpo.num_generations`` in grpo rounds), grade them;
   grpo rounds drop zero-variance groups and refill them from fresh prompts; rft rounds mark
   the kept traces (rejection sampling with cap and dedupe);
2. ``rationalize`` / ``refine`` (rft rounds, when enabled): new attempts for the failures;
3. ``train``: the round's strategy updates the policy in memory; the checkpoint is saved;
4. ``eval``: pass@k on the held-out split.

Resume. Each phase ends with a commit: its traces into the store (see
:mod:`selfimprove.train.store`), or for ``train`` the checkpoint directory (which also holds
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

from rollouts.trace import Trace
from selfimprove import distributed, rundir
from selfimprove.config import Config
from selfimprove.evaluate import format_table, make_runtime, requests_for
from selfimprove.metrics import group_by_problem, summarize
from selfimprove.tasks import load_task
from selfimprove.tasks.base import cap_split
from selfimprove.tracking import build_tracker
from selfimprove.train import rationalize, refine
from selfimprove.train.curriculum import PassRates, choose_prompts, split_by_variance
from selfimprove.train.policy import load_policy, save_checkpoint
from selfimprove.train.report import SAMPLE_COLUMNS, eval_metrics, sample_rows, sampling_metrics, summary_table
from selfimprove.train.sampling import PhaseTimes, sample_and_grade
from selfimprove.train.selection import dedupe_key, select
from selfimprove.train.state import TrainState, phase_seed
from selfimprove.train.store import TraceStore, write_rows
from selfimprove.train.strategies import RoundData, build_strategy, check_schedule

log = logging.getLogger(__name__)

SAMPLED_PHASES = ("generate", "rationalize", "refine")


class Loop:
    def __init__(self, cfg: Config, run_dir: Path, runtime, *, quiet: bool = False):
        self.cfg, self.run_dir, self.runtime, self.quiet = cfg, run_dir, runtime, quiet
        self.world = distributed.init()
        self.store = TraceStore(run_dir / "traces")
        self.state = TrainState.load(run_dir)
        self.tracker = build_tracker(cfg, run_dir, is_main=self.world.is_main)
        splits = load_task(cfg.task)
        self.train_split = splits["train"]
        self.test_split = cap_split(splits["test"], cfg.eval.max_problems)
        if not self.train_split:
            raise ValueError(f"task '{cfg.task.name}' has no train split; set task.num_train or task.train_split")
        self.problems = {p.id: p for p in self.train_split}
        self.rates = PassRates()
        for entry in self.store.entries:  # pass rates are derived data: rebuild them from the store
            if entry["phase"] == "generate":
                self.rates.update(self.store.read(entry["round"], "generate")[0])
        self.policy = load_policy(cfg, self.state.checkpoint)
        if self.state.checkpoint:
            self.policy.name = self._policy_name(self.state.checkpoint)

    # -- helpers --

    def _policy_name(self, checkpoint: str | None) -> str:
        return self.cfg.model.name if checkpoint is None else str(Path(checkpoint).relative_to(self.run_dir))

    def _seed(self, round: int, phase: str) -> int:
        return phase_seed(self.cfg.run.seed, round, phase)

    def _sampling(self, num_samples: int) -> dict[str, Any]:
        s = self.cfg.sampling
        return {"num_samples": num_samples, "temperature": s.temperature, "top_p": s.top_p,
                "max_new_tokens": s.max_new_tokens, "stop": list(s.stop)}

    def _commit(self, round: int, phase: str, traces: list[Trace], kept: list[bool], num_samples: int) -> None:
        if self.world.is_main:
            self.store.commit(round, phase, traces, kept=kept, sampling=self._sampling(num_samples))
        distributed.barrier()
        if not self.world.is_main:  # rank 0 wrote it: re-read the manifest so every rank sees the same store
            self.store = TraceStore(self.store.root)

    def _complete(self, round: int, phase: str, seconds: float, *, eval_phase: bool = False, **updates: Any) -> None:
        if eval_phase:
            updates["eval_wall_s"] = self.state.eval_wall_s + seconds
        else:
            updates["train_wall_s"] = self.state.train_wall_s + seconds
        if self.world.is_main:
            self.state.complete(self.run_dir, round, phase, **updates)
        else:
            self.state.completed.append(f"{round}:{phase}")
            for k, v in updates.items():
                setattr(self.state, k, v)
        distributed.barrier()

    def _log(self, metrics: dict[str, Any], round: int) -> None:
        self.tracker.log({"round": round, **metrics}, step=self.state.global_step)

    def _say(self, text: str) -> None:
        if self.world.is_main and not self.quiet:
            print(text, flush=True)

    # -- phases --

    def eval_phase(self, round: int, strategy: str = "-") -> dict[str, Any]:
        if self.state.done(round, "eval"):
            return next(h for h in self.state.history if h["round"] == round)
        t0 = time.perf_counter()
        if self.store.has(round, "eval"):  # committed just before a crash: adopt, do not sample again
            traces = self.store.read(round, "eval")[0]
            metrics = summarize(traces, self.cfg.eval.ks, check_boxed="\\boxed" in self.cfg.task.prompt_template)
        else:
            # Sharded like the sampled phases: each rank samples and grades its share, so every
            # held-out attempt is verified once, not once per rank.
            times = PhaseTimes()
            traces = sample_and_grade(self.policy, requests_for(self.test_split, self.cfg), self.cfg.sampling.num_samples,
                                      self.cfg, self.runtime, seed=self._seed(0, "eval"), round=round, times=times)
            metrics = summarize(traces, self.cfg.eval.ks, check_boxed="\\boxed" in self.cfg.task.prompt_template)
            metrics.update(tokens_per_s=times.tokens_per_s, generate_s=times.generate_s, verify_s=times.verify_s)
            self._commit(round, "eval", traces, [False] * len(traces), self.cfg.sampling.num_samples)
        seconds = time.perf_counter() - t0
        self._log(eval_metrics(metrics) | {"time/eval_s": seconds}, round)
        self.tracker.log_table("samples", SAMPLE_COLUMNS, sample_rows(traces, self.cfg.logging.sample_traces),
                               step=self.state.global_step)
        summary = {"round": round, "strategy": strategy, "global_step": self.state.global_step,
                   "train_wall_s": self.state.train_wall_s, "eval_s": seconds,
                   **{k: v for k, v in metrics.items() if k != "status_counts"}}
        self._complete(round, "eval", seconds, eval_phase=True, history=self.state.history + [summary],
                       rounds_done=max(self.state.rounds_done, round))
        self._say(f"round {round} eval ({strategy}): " + ", ".join(
            f"{k}={metrics[k]:.3f}" for k in [f"pass@{k}" for k in self.cfg.eval.ks] + ["format_follow"] if k in metrics))
        return summary

    def _sample_phase(self, round: int, phase: str, make) -> tuple[list[Trace], list[bool]]:
        """Run ``make(times) -> (traces, kept, num_samples)`` once; on resume read its commit back."""
        if self.store.has(round, phase):
            traces, kept = self.store.read(round, phase)
            if not self.state.done(round, phase):
                self._complete(round, phase, 0.0)
            return traces, kept
        t0 = time.perf_counter()
        times = PhaseTimes()
        traces, kept, num_samples = make(times)
        self._commit(round, phase, traces, kept, num_samples)
        seconds = time.perf_counter() - t0
        self._log(sampling_metrics(phase, traces, kept, times) | {f"time/{phase}_s": seconds}, round)
        self._complete(round, phase, seconds)
        return traces, kept

    def _seen(self, round: int) -> set[tuple[str, str]]:
        """Dedupe keys of traces already kept in earlier rounds (when accumulating)."""
        if not self.cfg.train.accumulate:
            return set()
        return {dedupe_key(t) for t in self.store.kept(SAMPLED_PHASES, up_to_round=round - 1)}

    def generate(self, round: int, wants_groups: bool) -> tuple[list[Trace], list[bool]]:
        t, c = self.cfg.train, self.cfg.train.curriculum
        k = t.grpo.num_generations if wants_groups else t.samples_per_prompt
        random_reward = t.reward == "random"

        def make(times: PhaseTimes):
            seed = self._seed(round, "generate")
            prompts = choose_prompts(self.train_split, t.prompts_per_round, self.rates, c.band, enabled=c.enabled,
                                     seed=seed)
            traces = sample_and_grade(self.policy, requests_for(prompts, self.cfg), k, self.cfg, self.runtime,
                                      seed=seed, round=round, times=times, random_reward=random_reward)
            if wants_groups:  # kept = the groups the update trains on
                if not c.drop_zero_variance:
                    return traces, [True] * len(traces), k
                traces = self._refill(round, traces, len(prompts), k, times)
                varied, _ = split_by_variance(traces)
                kept = [t.problem_id in varied for t in traces]
            else:
                kept = select(traces, cap=t.per_prompt_cap, dedupe=t.dedupe, prefer=t.prefer, seen=self._seen(round),
                              seed=seed)
            return traces, kept, k

        traces, kept = self._sample_phase(round, "generate", make)
        self.rates.update(traces)
        return traces, kept

    def _refill(self, round: int, traces: list[Trace], target: int, k: int, times: PhaseTimes) -> list[Trace]:
        """Replace zero-variance groups with groups of fresh prompts (DAPO dynamic sampling, per round)."""
        c = self.cfg.train.curriculum
        for attempt in range(c.refill_passes):
            varied, _ = split_by_variance(traces)
            deficit = target - len(varied)
            if deficit <= 0:
                break
            tried = {t.problem_id for t in traces}
            seed = self._seed(round, f"refill{attempt}")
            more = choose_prompts(self.train_split, deficit, self.rates, c.band, enabled=c.enabled, seed=seed,
                                  exclude=tried)
            if not more:
                break
            traces = traces + sample_and_grade(self.policy, requests_for(more, self.cfg), k, self.cfg, self.runtime,
                                               seed=seed, round=round, times=times,
                                               random_reward=self.cfg.train.reward == "random")
        return traces

    def rationalize(self, round: int, generated: list[Trace]) -> None:
        o = self.cfg.train.rationalize

        def make(times: PhaseTimes):
            ids = rationalize.unsolved(generated, o.max_prompts)
            seed = self._seed(round, "rationalize")
            traces = sample_and_grade(self.policy, rationalize.hinted_requests(ids, self.problems, self.cfg), o.samples,
                                      self.cfg, self.runtime, seed=seed, round=round, times=times,
                                      random_reward=self.cfg.train.reward == "random")
            usable = [rationalize.usable(t) for t in traces]
            kept = select(traces, cap=self.cfg.train.per_prompt_cap, dedupe=self.cfg.train.dedupe, prefer=self.cfg.train.prefer,
                          seen=self._seen(round), seed=seed)
            return traces, [a and b for a, b in zip(kept, usable)], o.samples

        self._sample_phase(round, "rationalize", make)

    def refine(self, round: int, generated: list[Trace]) -> None:
        o = self.cfg.train.refine

        def make(times: PhaseTimes):
            attempts = refine.failed_attempts(generated, o.max_prompts)
            seed = self._seed(round, "refine")
            traces = sample_and_grade(self.policy, [refine.revision_request(a) for a in attempts], 1, self.cfg,
                                      self.runtime, seed=seed, round=round, times=times,
                                      random_reward=self.cfg.train.reward == "random")
            kept = select(traces, cap=self.cfg.train.per_prompt_cap, dedupe=self.cfg.train.dedupe,
                          prefer=self.cfg.train.prefer, seen=self._seen(round), seed=seed)
            return traces, kept, 1

        self._sample_phase(round, "refine", make)

    def train(self, round: int, name: str, generated: list[Trace], kept: list[bool]) -> None:
        ckpt = self.run_dir / "checkpoints" / f"round-{round:03d}"
        if self.state.done(round, "train"):
            return
        if not (ckpt / "round.json").exists():  # else: saved just before a crash, adopt it below
            t0 = time.perf_counter()
            strategy = build_strategy(name, self.cfg, self.runtime, self.run_dir / "trainer")
            if strategy.starts_from_base():
                self.policy = load_policy(self.cfg, None)
            groups = {}
            if strategy.wants_groups:
                groups = group_by_problem([t for t, k in zip(generated, kept) if k])
            first = 1 if self.cfg.train.accumulate else round
            training = [] if strategy.wants_groups else self.store.kept(SAMPLED_PHASES, up_to_round=round)
            # grpo rounds mark whole groups (wrong attempts too) as kept; rft trains on verified ones only
            training = [t for t in training if t.round >= first and t.verification.correct]
            data = RoundData(round, self.problems, generated, training, groups)
            result = strategy.update(self.policy, data, seed=self._seed(round, "train"))
            seconds = time.perf_counter() - t0
            if self.world.is_main:
                self._save_round(ckpt, round, name, result, seconds)
            distributed.barrier()
            shutil.rmtree(self.run_dir / "trainer", ignore_errors=True)
        else:
            self.policy = load_policy(self.cfg, str(ckpt))
        info = json.loads((ckpt / "round.json").read_text())
        if (ckpt / "rollouts.parquet").exists() and not self.store.has(round, "rollouts") and self.world.is_main:
            import pyarrow.parquet as pq

            rows = pq.read_table(ckpt / "rollouts.parquet").to_pylist()
            self.store.commit(round, "rollouts", [_trace(r) for r in rows], kept=[bool(r["kept"]) for r in rows],
                              sampling=self._sampling(self.cfg.train.grpo.num_generations))
        self.policy.name = self._policy_name(str(ckpt))
        self._log(info["metrics"] | {"time/train_s": info["seconds"], "train/steps": info["steps"]}, round)
        self._complete(round, "train", info["seconds"], global_step=self.state.global_step + info["steps"],
                       checkpoint=str(ckpt), checkpoints=self.state.checkpoints + [str(ckpt)])
        self._prune_checkpoints()

    def _save_round(self, ckpt: Path, round: int, name: str, result, seconds: float) -> None:
        """Checkpoint + the update's rollouts + its step count, committed as one directory rename."""
        from rollouts.trace import to_row

        info = {"round": round, "strategy": name, "steps": result.steps, "seconds": seconds, "metrics": result.metrics}

        def extras(tmp: Path) -> None:
            if result.traces:
                write_rows([to_row(t) | {"phase": "rollouts", "kept": True, "sampling_json": "{}"}
                            for t in result.traces], tmp / "rollouts.parquet")
            (tmp / "round.json").write_text(json.dumps(info, default=float))

        ckpt.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(self.policy, ckpt, extras=extras)

    def _prune_checkpoints(self) -> None:
        if not self.world.is_main:
            return
        keep = self.state.checkpoints[-self.cfg.train.keep_checkpoints:]
        for path in self.state.checkpoints[: -self.cfg.train.keep_checkpoints]:
            if path not in keep and Path(path).exists():
                shutil.rmtree(path)

    # -- the loop --

    def budget_left(self) -> bool:
        budget = self.cfg.train.time_budget_minutes
        return budget is None or self.state.train_wall_s < budget * 60

    def run(self) -> list[dict[str, Any]]:
        t = self.cfg.train
        if t.eval_before:
            self.eval_phase(0, "base")
        for round in range(1, t.rounds + 1):
            if self.state.done(round, "eval"):
                continue
            if not self.state.done(round, "generate") and not self.budget_left():
                self._say(f"time budget of {t.time_budget_minutes} min spent; stopping before round {round}")
                break
            name = t.strategy_for(round)
            wants_groups = name == "grpo"
            generated, kept = self.generate(round, wants_groups)
            if not wants_groups:
                if t.rationalize.enabled:
                    self.rationalize(round, generated)
                if t.refine.enabled:
                    self.refine(round, generated)
            self.train(round, name, generated, kept)
            if round == t.rounds or not self.budget_left() or round % t.eval_every == 0:
                self.eval_phase(round, name)
            else:  # the round is complete all the same ("eval" marks a round done for --resume)
                self._complete(round, "eval", 0.0, eval_phase=True, rounds_done=max(self.state.rounds_done, round))
                self._say(f"round {round} done; evaluation skipped (train.eval_every={t.eval_every})")
        return self.state.history


def _trace(row: dict[str, Any]) -> Trace:
    from rollouts.trace import from_row

    return from_row(row)


def run_train(cfg: Config, *, resume: bool = False, quiet: bool = False) -> list[dict[str, Any]]:
    """The ``selfimprove train`` job. Returns the per-round eval history."""
    import datasets

    check_schedule(cfg.train.schedule)
    datasets.disable_progress_bars()  # per-round tokenizing bars would bury the round summaries
    run_dir = cfg.run_dir
    if resume and not (run_dir / "config.yaml").exists():
        raise rundir.RunDirError(f"--resume: {run_dir} holds no run (no config.yaml); check run.name / run.output_dir")
    if distributed.world().is_main:
        run_dir = rundir.prepare(cfg, resume=resume)
    distributed.barrier()
    with make_runtime(cfg) as runtime:
        loop = Loop(cfg, run_dir, runtime, quiet=quiet)
        if resume:
            orphans = loop.store.remove_orphans() if loop.world.is_main else []
            loop._say(f"resuming {run_dir}: {len(loop.state.completed)} phases done, step {loop.state.global_step}"
                      + (f", removed {len(orphans)} uncommitted file(s)" if orphans else ""))
        from selfimprove import configio

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
              f"   (train wall-clock {last['train_wall_s'] / 60:.1f} min; run dir {run_dir})")
    return history


__all__ = ["Loop", "run_train", "format_table"]
