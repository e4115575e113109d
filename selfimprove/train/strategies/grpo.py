"""``grpo``: TRL's GRPOTrainer with our verifier runtime as the reward.

All of the policy-gradient math is TRL's: ``loss_type``, ``beta``, ``epsilon`` / ``epsilon_high``,
``scale_rewards``, ``num_iterations`` and anything in ``train.grpo.extra`` go straight into
``GRPOConfig``. What we add around it:

- :meth:`GRPO.collect`: the round's prompts are the groups of the generate phase
  (``num_generations`` attempts each, on ``steps_per_round * prompts_per_step * world_size``
  prompts at most: what the round trains on) that had reward variance; with ``drop_zero_variance``,
  flat groups are dropped and replaced by groups of fresh prompts in up to ``refill_passes``
  extra passes (DAPO's dynamic sampling, once per round; see :mod:`selfimprove.train.curriculum`);
- generation goes through TRL's ``rollout_func`` to our engine, which first serves those
  already-sampled groups (``grpo.reuse_rollouts``) and samples fresh ones after that
  (see :mod:`selfimprove.train.rollout_source`);
- the reward function is :func:`verifiers.trl_reward.reward_function` over the strategy's
  runtime (out-of-process, deadlines; the random-reward control when ``train.reward`` is random);
- with ``grpo.refine``, every completion is a refinement episode (attempt, feedback, revision;
  :mod:`selfimprove.train.refine_episodes`) and the reward is its final answer's verification.

Limits: one GRPOTrainer per round (its optimizer state does not carry over between rounds);
``steps_per_round`` steps of ``prompts_per_step`` prompts on each rank, so a round sees
``steps_per_round * prompts_per_step * world_size`` prompts, repeated when fewer groups had
variance (:func:`steps_of`). A round that takes fewer optimizer steps than that is an error,
never a silent success.
"""

from __future__ import annotations

import logging
import os

from rollouts.backends import build_engine
from rollouts.trace import Trace
from selfimprove import distributed
from selfimprove.metrics import group_by_problem
from selfimprove.models import LoadedModel
from selfimprove.prompts import build_messages
from selfimprove.sampling import grade, sampling_record
from selfimprove.tasks.base import Problem
from selfimprove.train.context import RoundContext, SamplingPhase
from selfimprove.train.curriculum import split_by_variance
from selfimprove.train.policy_version import versioned
from selfimprove.train.refine_episodes import RefineEpisodes
from selfimprove.train.rollout_source import RolloutSource, episode_reward, prompt_key
from selfimprove.train.strategies.base import RoundData, Strategy, UpdateResult, checked_extra, mean_logged
from selfimprove.train.trainers import release, train_quietly
from selfimprove.zero_export import consolidated_model
from verifiers.trl_reward import reward_function

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
            # costs time (the refill passes replace groups without reward variance).
            prompts = ctx.round_prompts(seed=generate.seed, at_most=self.prompts_per_round())
            traces = generate.sample(ctx.requests(prompts), g.num_generations)
            kept = [True] * len(traces)
            if g.drop_zero_variance:
                traces = self._refill(round, traces, len(prompts), ctx, generate)
                varied, _ = split_by_variance(traces)
                kept = [t.problem_id in varied for t in traces]  # kept = the groups the update trains on
            generate.commit(traces, kept)
        ctx.record_pass_rates(generate.traces)
        groups = group_by_problem(t for t, k in zip(generate.traces, generate.kept) if k)
        return RoundData(round, ctx.problems, generate.traces, groups=groups)

    def _refill(self, round: int, traces: list[Trace], target: int, ctx: RoundContext,
                phase: SamplingPhase) -> list[Trace]:
        """Replace zero-variance groups with groups of fresh prompts (DAPO dynamic sampling, per round)."""
        for attempt in range(self.cfg.train.grpo.refill_passes):
            varied, _ = split_by_variance(traces)
            deficit = target - len(varied)
            if deficit <= 0:
                break
            seed = ctx.seed(round, f"refill{attempt}")
            more = ctx.choose(deficit, seed=seed, exclude={t.problem_id for t in traces})
            if not more:
                break
            traces = traces + phase.sample(ctx.requests(more), self.cfg.train.grpo.num_generations, seed=seed)
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
        from trl import GRPOConfig, GRPOTrainer

        # We use rollout_func knowingly (TRL marks it experimental); its warning would repeat every round.
        os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
        g = self.cfg.train.grpo
        ids = list(data.groups) or list(dict.fromkeys(t.problem_id for t in data.generated))
        problems = [data.problems[pid] for pid in ids] or list(data.problems.values())
        if not data.groups:
            log.warning("grpo round %d: no group had reward variance; training on fresh samples of the round's prompts",
                        data.round)
        rows, by_key = [], {}
        for p in steps_of(problems, self.prompts_per_round()):
            messages = build_messages(p, self.cfg.task)
            by_key[prompt_key(messages)] = p
            rows.append({"prompt": messages, "reference": p.reference, "problem_id": p.id})
        cached = {}
        if g.reuse_rollouts:
            cached = {prompt_key(group[0].messages): group for group in data.groups.values()}
        engine = build_engine(policy.model, policy.tokenizer, self.cfg.sampling, self.cfg.rollouts,
                              model_dir=policy.path, seed=distributed.rank_seed(seed), policy=policy.name,
                              round=data.round, progress=False, dtype=policy.compute_dtype)
        episodes = RefineEpisodes(engine, self.runtime) if g.refine else None
        source = RolloutSource(engine, by_key, cached, episodes)
        args = GRPOConfig(
            **self.common_args(policy, seed), learning_rate=g.learning_rate, max_steps=g.steps_per_round,
            lr_scheduler_type=g.lr_scheduler_type,
            num_generations=g.num_generations, **self.batch_args(),
            loss_type=g.loss_type, beta=g.beta, epsilon=g.epsilon, epsilon_high=g.epsilon_high,
            scale_rewards=g.scale_rewards, num_iterations=g.num_iterations,
            mask_truncated_completions=g.mask_truncated_completions,
            max_completion_length=self.cfg.sampling.max_new_tokens, temperature=self.cfg.sampling.temperature,
            top_p=self.cfg.sampling.top_p, **checked_extra(GRPOConfig, g.extra, "train.grpo.extra"),
        )
        reward = episode_reward if g.refine else reward_function(self.runtime)
        trainer = GRPOTrainer(model=policy.model, reward_funcs=[reward], args=args,
                              train_dataset=datasets.Dataset.from_list(rows), processing_class=policy.tokenizer,
                              rollout_func=versioned(source, engine, policy.name))
        train_quietly(trainer)
        policy.model = consolidated_model(trainer, policy.model)  # under ZeRO-3: gathered, plain again
        release(trainer, keep=policy.model)  # nothing of this round's trainer (or DeepSpeed engine) lives on with the policy
        policy.model.eval()
        policy.tokenizer.padding_side = "left"
        if trainer.state.global_step != g.steps_per_round:
            raise RuntimeError(f"grpo round {data.round} took {trainer.state.global_step} optimizer steps, not "
                               f"train.grpo.steps_per_round={g.steps_per_round}: the update is not committed")
        ungraded = [t for t in source.fresh if t.verification is None]
        if ungraded:
            grade(ungraded, self.runtime)
        revisions = episodes.revisions if episodes is not None else []
        # Each rank sampled its own share of the update's rollouts: the store keeps all of them.
        fresh = [t for part in distributed.gather_objects(source.fresh) for t in part]
        revisions = [t for part in distributed.gather_objects(revisions) for t in part]
        served_cached = sum(distributed.gather_objects(source.served_cached))
        history = trainer.state.log_history
        return UpdateResult(
            steps=trainer.state.global_step, traces=fresh + revisions, log_history=history,
            sampling=sampling_record(self.cfg.sampling, g.num_generations),
            metrics={"train/reward": mean_logged(history, "reward"), "train/loss": mean_logged(history, "loss"),
                     "train/entropy": mean_logged(history, "entropy"),
                     "train/completion_length": mean_logged(history, "completions/mean_length"),
                     "train/groups": len(data.groups), "train/served_cached": served_cached,
                     "train/sampled_fresh": len(fresh), "train/revisions": len(revisions),
                     "train/revisions_correct": sum(t.verification.correct for t in revisions)},
        )
