"""``grpo``: TRL's GRPOTrainer with our verifier runtime as the reward, as an online learner.

The policy-gradient loss is TRL's: ``loss_type``, ``beta``, ``epsilon`` / ``epsilon_high``,
``scale_rewards``, ``num_iterations`` and anything in ``train.grpo.extra`` go straight into
``GRPOConfig``. What we add around it:

- **One optimizer per stretch** (``carry_optimizer``): consecutive grpo rounds share AdamW's
  moments, the step count and one LR schedule over the whole stretch. Each round's checkpoint
  holds the optimizer state, and the next round's trainer resumes from it through transformers'
  own ``resume_from_checkpoint``, the same path ``--resume`` takes after a crash, so an
  interrupted run continues exactly as an uninterrupted one. Rounds stay the unit of evaluation,
  checkpoint and trace commit.
- **Dynamic sampling** (``dynamic_sampling``, DAPO): ``step`` (default) makes every optimizer step
  train on groups with reward variance: the round's generate phase samples the prompts, its
  groups with variance are served to TRL (``reuse_rollouts``), and during the update a flat
  fresh group is swapped for a group of the next reserve prompt
  (:mod:`selfimprove.train.rollout_source`). ``round`` replaces the generate phase's flat groups
  once, before the update; ``none`` trains on every group, as TRL does.
- **Off-policy correction** (``importance_correction``, :mod:`selfimprove.train.grpo_trainer`):
  truncated importance sampling of trainer vs behaviour log-probabilities for every backend, and
  ``max_staleness``: a pre-sampled group older than that is sampled afresh.
- rewards are graded in the rollout function by the strategy's runtime (the verifier, or the
  random-reward control under ``train.reward``); with ``grpo.refine`` every completion is a
  refinement episode (:mod:`selfimprove.train.refine_episodes`).

Loss normalisation vs TRL alone: with ``loss_type=dapo`` TRL divides the summed token losses by
all completion tokens of the step's batch. In TRL alone, flat groups (advantage 0) add tokens to
that denominator and nothing to the sum; we train only on groups with variance, so at the same
learning rate our step is larger by 1 / (share of tokens in groups with variance), e.g. 2x when
half of TRL's groups are flat. With ``dynamic_sampling=none`` the two are the same.

Limits: ``steps_per_round`` steps of ``prompts_per_step`` prompts on each rank, so a round trains on
``steps_per_round * prompts_per_step * world_size`` groups (:func:`steps_of`); a round that takes
fewer optimizer steps than that is an error, never a silent success. The Trainer object itself
is rebuilt each round (from the checkpoint); what carries over is its optimizer, scheduler, RNG
and step count.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from rollouts.backends import build_engine
from rollouts.trace import Trace
from selfimprove import distributed
from selfimprove.metrics import group_by_problem
from selfimprove.models import LoadedModel
from selfimprove.prompts import build_messages
from selfimprove.sampling import sampling_record
from selfimprove.tasks.base import Problem
from selfimprove.train.context import RoundContext, SamplingPhase
from selfimprove.train.curriculum import split_by_variance
from selfimprove.train.policy_version import versioned
from selfimprove.train.refine_episodes import RefineEpisodes
from selfimprove.train.rollout_source import RolloutSource, prompt_key, rollout_reward
from selfimprove.train.strategies.base import RoundData, Strategy, UpdateResult, checked_extra, mean_logged
from selfimprove.train.trainers import release, train_quietly
from selfimprove.zero_export import consolidated_model

log = logging.getLogger(__name__)


def steps_of(problems: list[Problem], n: int) -> list[Problem]:
    """``problems`` cycled to exactly ``n`` dataset rows (``n`` = prompts one round trains on).

    TRL's ``RepeatSampler`` hands out whole generation batches of ``prompts_per_step x world_size``
    prompts and drops an incomplete last one, so a round's dataset smaller than one batch gave an
    empty dataloader and a round of zero optimizer steps (with only a log line from transformers).
    Exactly ``n`` rows make one pass ``steps_per_round`` batches on any number of ranks; when fewer
    groups had reward variance, prompts repeat (each repeat is sampled afresh).
    """
    return [problems[i % len(problems)] for i in range(n)]


class GRPO(Strategy):
    name = "grpo"

    # -- collect --

    def collect(self, round: int, ctx: RoundContext) -> RoundData:
        g = self.cfg.train.grpo
        # generate: num_generations attempts at the round's prompts; the groups with reward variance are kept
        generate = ctx.phase(round, "generate")
        if not generate.committed:
            # The update trains on prompts_per_round() groups: sampling more prompts than that only
            # costs time (flat groups are replaced, per step or here per round).
            prompts = ctx.round_prompts(seed=generate.seed, at_most=self.prompts_per_round())
            traces = generate.sample(ctx.requests(prompts), g.num_generations, truncated=g.truncated)
            kept = [True] * len(traces)
            if g.dynamic_sampling != "none":
                if g.dynamic_sampling == "round":
                    traces = self._refill(round, traces, len(prompts), ctx, generate)
                varied, _ = split_by_variance(traces)
                kept = [t.problem_id in varied for t in traces]  # kept = the groups the update trains on
            generate.commit(traces, kept)
        ctx.record_pass_rates(generate.traces)
        groups = group_by_problem(t for t, k in zip(generate.traces, generate.kept) if k)
        reserve = []
        if g.dynamic_sampling == "step":  # the curriculum's next picks, for the update to draw from
            reserve = ctx.choose(self.prompts_per_round() * (1 + g.refill_passes), seed=ctx.seed(round, "reserve"),
                                 exclude={t.problem_id for t in generate.traces})
        return RoundData(round, ctx.problems, generate.traces, groups=groups, reserve=reserve,
                         previous_checkpoint=ctx.ledger.state.checkpoint)

    def _refill(self, round: int, traces: list[Trace], target: int, ctx: RoundContext,
                phase: SamplingPhase) -> list[Trace]:
        """Replace flat groups with groups of fresh prompts (``dynamic_sampling=round``)."""
        g = self.cfg.train.grpo
        for attempt in range(g.refill_passes):
            varied, _ = split_by_variance(traces)
            deficit = target - len(varied)
            if deficit <= 0:
                break
            seed = ctx.seed(round, f"refill{attempt}")
            more = ctx.choose(deficit, seed=seed, exclude={t.problem_id for t in traces})
            if not more:
                break
            traces = traces + phase.sample(ctx.requests(more), g.num_generations, seed=seed, truncated=g.truncated)
        return traces

    def prompts_per_round(self) -> int:
        """Distinct prompts one round trains on: every optimizer step takes ``prompts_per_step`` on each rank."""
        g = self.cfg.train.grpo
        return g.steps_per_round * g.prompts_per_step * distributed.world().world_size

    # -- update --

    def batch_args(self) -> dict[str, int]:
        """Micro-batch and accumulation: TRL generates prompts_per_step x G per optimizer step, all at once."""
        g = self.cfg.train.grpo
        return {"per_device_train_batch_size": g.prompts_per_step * g.num_generations // g.gradient_accumulation_steps,
                "gradient_accumulation_steps": g.gradient_accumulation_steps}

    def update(self, policy: LoadedModel, data: RoundData, *, seed: int) -> UpdateResult:
        import datasets
        from trl import GRPOConfig

        from selfimprove.train.grpo_trainer import CorrectedGRPOTrainer, StopAtStep, save_training_state

        # We use rollout_func knowingly (TRL marks it experimental); its warning would repeat every round.
        os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
        g = self.cfg.train.grpo
        world = distributed.world()
        if not data.groups:
            log.warning("grpo round %d: no group had reward variance; training on fresh samples of the round's prompts",
                        data.round)
        rows, by_key = [], {}
        problems, spare = self._dataset(data)
        for p in problems:
            messages = build_messages(p, self.cfg.task)
            by_key[prompt_key(messages)] = p
            rows.append({"prompt": messages, "reference": p.reference, "problem_id": p.id})
        reserve = []  # this rank's share of the reserve the dataset left, for per-step refills
        for p in spare[world.rank::world.world_size]:
            reserve.append(build_messages(p, self.cfg.task))
            by_key[prompt_key(reserve[-1])] = p
        cached = {}
        if g.reuse_rollouts:
            cached = {prompt_key(group[0].messages): group for group in data.groups.values()}
        resume, start, max_steps = self._schedule(data)
        engine = build_engine(policy.model, policy.tokenizer, self.cfg.sampling, self.cfg.rollouts,
                              model_dir=policy.path, seed=distributed.rank_seed(seed), policy=policy.name,
                              round=data.round, progress=False, dtype=policy.compute_dtype)
        episodes = RefineEpisodes(engine, self.runtime, truncated=g.truncated) if g.refine else None
        source = RolloutSource(engine, by_key, cached, episodes, runtime=self.runtime, truncated=g.truncated,
                               reserve=reserve, refill_passes=g.refill_passes if g.dynamic_sampling == "step" else 0,
                               max_staleness=g.max_staleness, start_step=start)
        args = GRPOConfig(
            **self.common_args(policy, seed), learning_rate=g.learning_rate, max_steps=max_steps,
            lr_scheduler_type=g.lr_scheduler_type, warmup_steps=g.warmup_steps, ignore_data_skip=True,
            num_generations=g.num_generations, **self.batch_args(),
            loss_type=g.loss_type, beta=g.beta, epsilon=g.epsilon, epsilon_high=g.epsilon_high,
            scale_rewards=g.scale_rewards, num_iterations=g.num_iterations,
            mask_truncated_completions=g.mask_truncated_completions,
            max_completion_length=self.cfg.sampling.max_new_tokens, temperature=self.cfg.sampling.temperature,
            top_p=self.cfg.sampling.top_p, **checked_extra(GRPOConfig, g.extra, "train.grpo.extra"),
        )
        trainer = CorrectedGRPOTrainer(
            model=policy.model, reward_funcs=[rollout_reward], args=args, train_dataset=datasets.Dataset.from_list(rows),
            processing_class=policy.tokenizer, rollout_func=versioned(source, engine, policy.name, start),
            importance_mode=g.importance_correction, importance_cap=g.importance_cap)
        trainer.add_callback(StopAtStep(start + g.steps_per_round))
        train_quietly(trainer, resume_from_checkpoint=str(resume) if resume is not None else None)
        steps = trainer.state.global_step - start
        files = None
        # Saved whenever the schedule's next round is grpo, even past train.rounds: a run extended with
        # more rounds (or one round per process, as benchmarks run it) continues the same optimizer.
        if g.carry_optimizer and steps == g.steps_per_round and self.cfg.train.strategy_for(data.round + 1) == self.name:
            files = self.work_dir / f"training-state-{data.round:03d}"
            save_training_state(trainer, files)  # every rank: the next round's trainer resumes from it
            distributed.barrier()
        history = [dict(e, step=e["step"] - start) for e in trainer.state.log_history if e.get("step", 0) > start]
        policy.model = consolidated_model(trainer, policy.model)  # under ZeRO-3: gathered, plain again
        release(trainer, keep=policy.model)  # nothing of this round's trainer (or DeepSpeed engine) lives on with the policy
        policy.model.eval()
        policy.tokenizer.padding_side = "left"
        if steps != g.steps_per_round:
            raise RuntimeError(f"grpo round {data.round} took {steps} optimizer steps, not "
                               f"train.grpo.steps_per_round={g.steps_per_round}: the update is not committed")
        revisions = episodes.revisions if episodes is not None else []
        # Each rank sampled its own share of the update's rollouts: the store keeps all of them.
        fresh = [t for part in distributed.gather_objects(source.fresh) for t in part]
        revisions = [t for part in distributed.gather_objects(revisions) for t in part]
        names = ("served_cached", "stale_dropped", "replaced", "flat_left", "candidates")  # every rank's, summed
        n = dict(zip(names, map(sum, zip(*distributed.gather_objects([getattr(source, k) for k in names])))))
        if n["flat_left"]:
            log.warning("grpo round %d: %d group(s) were still flat after train.grpo.refill_passes=%d extra pass(es) "
                        "(trained on; they move nothing)", data.round, n["flat_left"], g.refill_passes)
        return UpdateResult(
            steps=steps, traces=fresh + revisions, log_history=history, files=files,
            sampling=sampling_record(self.cfg.sampling, g.num_generations),
            metrics={"train/reward": mean_logged(history, "reward"), "train/loss": mean_logged(history, "loss"),
                     "train/entropy": mean_logged(history, "entropy"),
                     "train/completion_length": mean_logged(history, "completions/mean_length"),
                     "train/groups": len(data.groups), "train/served_cached": n["served_cached"],
                     "train/stale_dropped": n["stale_dropped"], "dynamic/replaced": n["replaced"],
                     "dynamic/flat_left": n["flat_left"], "dynamic/candidates": n["candidates"],
                     "train/stretch_steps": trainer.state.global_step,
                     "train/sampled_fresh": len(fresh), "train/revisions": len(revisions),
                     "train/revisions_correct": sum(t.verification.correct for t in revisions)},
        )

    def _dataset(self, data: RoundData) -> tuple[list[Problem], list[Problem]]:
        """(the update's ``prompts_per_round()`` dataset rows, the reserve left for per-step refills).

        The rows are the generate phase's groups with variance, then (``dynamic_sampling=step``)
        reserve prompts, cycled if still short."""
        problems = [data.problems[pid] for pid in data.groups]
        n = self.prompts_per_round()
        used = max(0, n - len(problems))
        problems += data.reserve[:used]
        if not problems:  # nothing varied and no reserve: the round's own prompts, sampled afresh
            problems = [data.problems[pid] for pid in dict.fromkeys(t.problem_id for t in data.generated)]
        return steps_of(problems or list(data.problems.values()), n), data.reserve[used:]

    def _schedule(self, data: RoundData) -> tuple[Path | None, int, int]:
        """(optimizer state to resume from, the trainer's global step at the round's start, max_steps).

        With ``carry_optimizer`` a stretch of consecutive grpo rounds is one schedule: ``max_steps``
        covers what is left of it as ``train.rounds`` plans it (a run extended later re-plans the rest
        of its schedule), and a round that follows a grpo round resumes that round's optimizer.
        """
        from selfimprove.train.grpo_trainer import training_state_of

        g = self.cfg.train.grpo
        if not g.carry_optimizer:
            return None, 0, g.steps_per_round
        left = self._stretch_end(data.round) - data.round + 1
        follows = data.round > 1 and self.cfg.train.strategy_for(data.round - 1) == self.name
        resume = training_state_of(data.previous_checkpoint) if follows else None
        if resume is None:
            return None, 0, left * g.steps_per_round
        start = json.loads((resume / "trainer_state.json").read_text())["global_step"]
        return resume, start, start + left * g.steps_per_round

    def _stretch_end(self, round: int) -> int:
        """The last round of the run of consecutive grpo rounds ``round`` is in."""
        end = round
        while end < self.cfg.train.rounds and self.cfg.train.strategy_for(end + 1) == self.name:
            end += 1
        return end
