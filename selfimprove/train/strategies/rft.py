"""``rft``: rejection-sampling fine-tuning on the kept verified traces, with TRL's SFTTrainer.

The dataset is conversational prompt-completion, so TRL computes the loss on completion tokens
only (``completion_only_loss``). Each kept trace becomes one example:

- a first attempt: its own prompt -> its completion;
- a rationalization (sampled with the answer as a hint): the prompt rebuilt *without* the hint
  -> the rationale, as STaR does;
- a refinement: the attempt, the verifier's feedback and the revision as a conversation
  (``refine.train_on: conversation``) or the revision as an answer to the bare prompt (``direct``).

With ``train.restart_from_base`` the loop hands us the base model every round (ReST-EM);
otherwise we continue from the last policy. Differences from ReST-EM: one SFT pass of
``sft.epochs`` epochs per round with a constant learning rate by default, and the data of all
rounds so far when ``train.accumulate`` is on (ReST-EM uses only the latest round's samples).
"""

from __future__ import annotations

import logging

from rollouts.trace import Trace
from selfimprove.models import LoadedModel
from selfimprove.prompts import build_messages
from selfimprove.train.strategies.base import RoundData, Strategy, UpdateResult, checked_extra, mean_logged
from selfimprove.zero_export import consolidated_model

log = logging.getLogger(__name__)


class RFT(Strategy):
    name = "rft"

    def starts_from_base(self) -> bool:
        return self.cfg.train.restart_from_base

    def example(self, trace: Trace, data: RoundData) -> dict:
        problem = data.problems.get(trace.problem_id)
        if trace.turns and self.cfg.train.refine.train_on == "conversation":
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
        s = self.cfg.train.sft
        dataset = datasets.Dataset.from_list([self.example(t, data) for t in data.training])
        args = SFTConfig(
            **self.common_args(policy, seed), learning_rate=s.learning_rate, num_train_epochs=s.epochs,
            per_device_train_batch_size=s.batch_size, gradient_accumulation_steps=s.gradient_accumulation_steps,
            max_length=s.max_length, lr_scheduler_type=s.lr_scheduler_type, warmup_steps=s.warmup_steps,
            weight_decay=s.weight_decay, max_grad_norm=s.max_grad_norm, completion_only_loss=True,
            **checked_extra(SFTConfig, s.extra, "train.sft.extra"),
        )
        trainer = SFTTrainer(model=policy.model, args=args, train_dataset=dataset, processing_class=policy.tokenizer)
        output = trainer.train()
        policy.model = consolidated_model(trainer, policy.model)  # under ZeRO-3: gathered, plain again
        policy.model.eval()
        return UpdateResult(
            steps=trainer.state.global_step,
            metrics={"train/examples": len(dataset), "train/loss": output.training_loss,
                     "train/token_accuracy": mean_logged(trainer.state.log_history, "mean_token_accuracy")},
        )
