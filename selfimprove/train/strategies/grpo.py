"""``grpo``: TRL's GRPOTrainer with our verifier runtime as the reward.

All of the policy-gradient math is TRL's: ``loss_type``, ``beta``, ``epsilon`` / ``epsilon_high``,
``scale_rewards``, ``num_iterations`` and anything in ``train.grpo.extra`` go straight into
``GRPOConfig``. What we add around it:

- the round's prompts are the groups of the generate phase that had reward variance
  (zero-variance groups dropped and refilled, see :mod:`selfimprove.train.curriculum`);
- generation goes through TRL's ``rollout_func`` to our engine, which first serves those
  already-sampled groups (``grpo.reuse_rollouts``) and samples fresh ones after that
  (see :mod:`selfimprove.train.rollout_source`);
- the reward function is :func:`verifiers.trl_reward.reward_function` (out-of-process, deadlines);
- with ``grpo.refine``, every completion is a refinement episode (attempt, feedback, revision;
  :mod:`selfimprove.train.refine_episodes`) and the reward is its final answer's verification.

Limits: one GRPOTrainer per round (its optimizer state does not carry over between rounds);
``steps_per_round`` steps of ``prompts_per_step`` prompts each, so a round sees
``steps_per_round * prompts_per_step`` prompts, repeated when fewer groups had variance.
"""

from __future__ import annotations

import logging
import os

from rollouts.engine import RolloutEngine
from selfimprove.evaluate import grade, sampling_params
from selfimprove.models import LoadedModel
from selfimprove.prompts import build_messages
from selfimprove.train.refine_episodes import RefineEpisodes
from selfimprove.train.rollout_source import RolloutSource, episode_reward, prompt_key
from selfimprove.train.strategies.base import RoundData, Strategy, UpdateResult, checked_extra, mean_logged
from selfimprove.zero_export import consolidated_model
from verifiers.trl_reward import reward_function

log = logging.getLogger(__name__)


def random_reward(seed: int):
    """The random-reward control as a TRL reward function: a fair coin per completion."""
    import random

    rng = random.Random(seed)

    def random_control_reward(prompts, completions, **kwargs) -> list[float]:
        return [float(rng.random() < 0.5) for _ in completions]

    return random_control_reward


class GRPO(Strategy):
    name = "grpo"
    wants_groups = True

    def update(self, policy: LoadedModel, data: RoundData, *, seed: int) -> UpdateResult:
        import datasets
        from trl import GRPOConfig, GRPOTrainer

        # We use rollout_func knowingly (TRL marks it experimental); its warning would repeat every round.
        os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
        g = self.cfg.train.grpo
        problems = [data.problems[pid] for pid in data.groups] or list(data.problems.values())
        if not data.groups:
            log.warning("grpo round %d: no group had reward variance; training on fresh samples of all prompts",
                        data.round)
        rows, by_key = [], {}
        for p in problems:
            messages = build_messages(p, self.cfg.task)
            by_key[prompt_key(messages)] = p
            rows.append({"prompt": messages, "reference": p.reference, "problem_id": p.id})
        cached = {}
        if g.reuse_rollouts:
            cached = {prompt_key(group[0].messages): group for group in data.groups.values()}
        params = sampling_params(self.cfg)
        engine = RolloutEngine(policy.model, policy.tokenizer, params, seed=seed, policy=policy.name,
                               round=data.round, progress=False)
        episodes = RefineEpisodes(engine, self.runtime) if g.refine else None
        source = RolloutSource(engine, by_key, cached, episodes)
        args = GRPOConfig(
            **self.common_args(policy, seed), learning_rate=g.learning_rate, max_steps=g.steps_per_round,
            lr_scheduler_type=g.lr_scheduler_type,
            num_generations=g.num_generations, per_device_train_batch_size=g.prompts_per_step * g.num_generations,
            loss_type=g.loss_type, beta=g.beta, epsilon=g.epsilon, epsilon_high=g.epsilon_high,
            scale_rewards=g.scale_rewards, num_iterations=g.num_iterations,
            mask_truncated_completions=g.mask_truncated_completions,
            max_completion_length=self.cfg.sampling.max_new_tokens, temperature=self.cfg.sampling.temperature,
            top_p=self.cfg.sampling.top_p, **checked_extra(GRPOConfig, g.extra, "train.grpo.extra"),
        )
        if self.cfg.train.reward == "random":
            reward = random_reward(seed)
        else:
            reward = episode_reward if g.refine else reward_function(self.runtime)
        trainer = GRPOTrainer(model=policy.model, reward_funcs=[reward], args=args,
                              train_dataset=datasets.Dataset.from_list(rows), processing_class=policy.tokenizer,
                              rollout_func=source)
        trainer.train()
        policy.model = consolidated_model(trainer, policy.model)  # under ZeRO-3: gathered, plain again
        policy.model.eval()
        policy.tokenizer.padding_side = "left"
        ungraded = [t for t in source.fresh if t.verification is None]
        if ungraded:
            grade(ungraded, self.runtime, progress=False)
        revisions = episodes.revisions if episodes is not None else []
        history = trainer.state.log_history
        return UpdateResult(
            steps=trainer.state.global_step, traces=source.fresh + revisions,
            metrics={"train/reward": mean_logged(history, "reward"), "train/loss": mean_logged(history, "loss"),
                     "train/entropy": mean_logged(history, "entropy"),
                     "train/completion_length": mean_logged(history, "completions/mean_length"),
                     "train/groups": len(data.groups), "train/served_cached": source.served_cached,
                     "train/sampled_fresh": len(source.fresh), "train/revisions": len(revisions),
                     "train/revisions_correct": sum(t.verification.correct for t in revisions)},
        )
