"""``rft``: rejection-sampling fine-tuning on the kept verified traces, with TRL's SFTTrainer.

A round (options under ``train.rft``):

1. ``generate``: ``samples_per_prompt`` attempts at each of the round's prompts; verified ones
   are kept with a per-prompt cap and dedupe (:mod:`selfimprove.train.selection`);
2. ``rationalize`` (STaR) and ``refine`` (self-refinement), when enabled: new attempts for the
   prompts that failed, kept by the same rule;
3. ``update``: SFT on the kept traces of this round (or of all rounds, with ``accumulate``).

The dataset is conversational prompt-completion, so TRL computes the loss on completion tokens
only (``completion_only_loss``). Each kept trace becomes one example:

- a first attempt: its own prompt -> its completion;
- a rationalization (sampled with the answer as a hint): the prompt rebuilt *without* the hint
  -> the rationale, as STaR does;
- a refinement: the attempt, the verifier's feedback and the revision as a conversation
  (``refine.train_on: conversation``) or the revision as an answer to the bare prompt (``direct``).

With ``train.rft.restart_from_base`` the loop hands us the base model every round (ReST-EM);
otherwise we continue from the last policy. Differences from ReST-EM: one SFT pass of
``sft.epochs`` epochs per round with a constant learning rate by default, and the data of all
rounds so far when ``accumulate`` is on (ReST-EM uses only the latest round's samples).
"""

from __future__ import annotations

import logging

from typing import Sequence

from rollouts.trace import Trace
from selfimprove.models import LoadedModel
from selfimprove.prompts import build_messages
from selfimprove.train import rationalize, refine
from selfimprove.train.context import RoundContext
from selfimprove.train.selection import dedupe_key, select
from selfimprove.train.strategies.base import RoundData, Strategy, UpdateResult, checked_extra, mean_logged
from selfimprove.train.trainers import release, train_quietly
from selfimprove.zero_export import consolidated_model

log = logging.getLogger(__name__)

#: The phases whose kept traces rft trains on.
SAMPLED_PHASES = ("generate", "rationalize", "refine")


class RFT(Strategy):
    name = "rft"

    def starts_from_base(self) -> bool:
        return self.cfg.train.rft.restart_from_base

    # -- collect --

    def collect(self, round: int, ctx: RoundContext) -> RoundData:
        o = self.cfg.train.rft
        # 1. generate: samples_per_prompt attempts at each of the round's prompts; verified ones kept
        generate = ctx.phase(round, "generate")
        if not generate.committed:
            traces = generate.sample(ctx.requests(ctx.round_prompts(seed=generate.seed)), o.samples_per_prompt)
            generate.commit(traces, self._select(traces, round, ctx, "generate"))
        generated = generate.traces
        ctx.record_pass_rates(generated)
        # 2. rationalize (STaR): prompts with no verified attempt, again with the answer as a hint
        if o.rationalize.enabled:
            self._rationalize(round, generated, ctx)
        # 3. refine: one revision of a failed attempt per prompt, after the verifier's feedback
        if o.refine.enabled:
            self._refine(round, generated, ctx)
        # 4. the training set: what the phases kept, this round's (or every round's, with accumulate)
        first = 1 if o.accumulate else round
        kept = ctx.store.kept(SAMPLED_PHASES, up_to_round=round)
        # grpo rounds mark whole groups (wrong attempts too) as kept; rft trains on verified ones only
        training = [t for t in kept if t.round >= first and t.verification.correct]
        return RoundData(round, ctx.problems, generated, training=training)

    def _select(self, traces: Sequence[Trace], round: int, ctx: RoundContext, phase: str) -> list[bool]:
        o = self.cfg.train.rft
        # With accumulate, a text kept in an earlier round is a duplicate too.
        seen = {dedupe_key(t) for t in ctx.store.kept(SAMPLED_PHASES, up_to_round=round - 1)} if o.accumulate else ()
        return select(traces, cap=o.per_prompt_cap, dedupe=o.dedupe, prefer=o.prefer, seen=seen,
                      seed=ctx.seed(round, phase))

    def _rationalize(self, round: int, generated: list[Trace], ctx: RoundContext) -> None:
        o = self.cfg.train.rft.rationalize
        phase = ctx.phase(round, "rationalize")
        if phase.committed:
            return
        problems = [ctx.problems[pid] for pid in rationalize.unsolved(generated, o.max_prompts)]
        traces = phase.sample(ctx.requests(problems, hint=True), o.samples)
        kept = self._select(traces, round, ctx, "rationalize")
        phase.commit(traces, [k and rationalize.usable(t) for t, k in zip(traces, kept)])

    def _refine(self, round: int, generated: list[Trace], ctx: RoundContext) -> None:
        o = self.cfg.train.rft.refine
        phase = ctx.phase(round, "refine")
        if phase.committed:
            return
        requests = [refine.revision_request(a) for a in refine.failed_attempts(generated, o.max_prompts)]
        traces = phase.sample(requests, 1)
        phase.commit(traces, self._select(traces, round, ctx, "refine"))

    # -- update --

    def example(self, trace: Trace, data: RoundData) -> dict:
        problem = data.problems.get(trace.problem_id)
        if trace.turns and self.cfg.train.rft.refine.train_on == "conversation":
            prompt = trace.messages
        elif trace.hint or trace.turns:
            if problem is None:
                raise KeyError(f"kept trace for unknown problem {trace.problem_id!r}: is the task config unchanged?")
            prompt = build_messages(problem, self.cfg.task)
        else:
            prompt = trace.messages
        return {"prompt": prompt, "completion": [{"role": "assistant", "content": trace.completion}]}

    def update(self, policy: LoadedModel, data: RoundData, *, seed: int) -> UpdateResult:
        import datasets
        from trl import SFTConfig, SFTTrainer

        if not data.training:
            log.warning("rft round %d: no verified traces to train on; the policy is unchanged", data.round)
            return UpdateResult(steps=0, metrics={"train/examples": 0})
        s = self.cfg.train.rft
        dataset = datasets.Dataset.from_list([self.example(t, data) for t in data.training])
        args = SFTConfig(
            **self.common_args(policy, seed), learning_rate=s.learning_rate, num_train_epochs=s.epochs,
            per_device_train_batch_size=s.batch_size, gradient_accumulation_steps=s.gradient_accumulation_steps,
            max_length=s.max_length, lr_scheduler_type=s.lr_scheduler_type, warmup_steps=s.warmup_steps,
            weight_decay=s.weight_decay, max_grad_norm=s.max_grad_norm, completion_only_loss=True,
            **checked_extra(SFTConfig, s.extra, "train.rft.extra"),
        )
        trainer = SFTTrainer(model=policy.model, args=args, train_dataset=dataset, processing_class=policy.tokenizer)
        output = train_quietly(trainer)
        policy.model = consolidated_model(trainer, policy.model)  # under ZeRO-3: gathered, plain again
        release(trainer, keep=policy.model)  # nothing of this round's trainer (or DeepSpeed engine) lives on with the policy
        policy.model.eval()
        return UpdateResult(
            steps=trainer.state.global_step, log_history=trainer.state.log_history,
            metrics={"train/examples": len(dataset), "train/loss": output.training_loss,
                     "train/token_accuracy": mean_logged(trainer.state.log_history, "mean_token_accuracy")},
        )
