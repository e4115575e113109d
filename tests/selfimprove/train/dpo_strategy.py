"""A third update strategy, written the way a user would add one: DPO on verified pairs.

It exists to prove the plug-in point: this module plus one line in ``STRATEGIES`` (done by the
test) and the loop runs it unchanged. ``collect`` samples groups and keeps those with both a
verified and a rejected attempt; ``update`` runs TRL's DPOTrainer on (verified, rejected) pairs.
"""

from __future__ import annotations

import copy

from selfimprove.metrics import group_by_problem
from selfimprove.models import LoadedModel
from selfimprove.train.context import RoundContext
from selfimprove.train.strategies.base import RoundData, Strategy, UpdateResult
from selfimprove.train.trainers import train_quietly


class VerifiedPairsDPO(Strategy):
    name = "dpo"
    group_size = 8

    def collect(self, round: int, ctx: RoundContext) -> RoundData:
        generate = ctx.phase(round, "generate")
        if not generate.committed:
            traces = generate.sample(ctx.requests(ctx.round_prompts(seed=generate.seed)), self.group_size)
            mixed = {pid for pid, g in group_by_problem(traces).items()
                     if len({t.verification.correct for t in g}) == 2}
            generate.commit(traces, [t.problem_id in mixed for t in traces])
        ctx.record_pass_rates(generate.traces)
        pairs = group_by_problem(t for t, k in zip(generate.traces, generate.kept) if k)
        return RoundData(round, ctx.problems, generate.traces, groups=pairs)

    def update(self, policy: LoadedModel, data: RoundData, *, seed: int) -> UpdateResult:
        import datasets
        from trl import DPOConfig, DPOTrainer

        rows = []
        for group in data.groups.values():
            good = [t for t in group if t.verification.correct]
            bad = [t for t in group if not t.verification.correct]
            rows += [{"prompt": g.messages, "chosen": [{"role": "assistant", "content": g.completion}],
                      "rejected": [{"role": "assistant", "content": b.completion}]} for g, b in zip(good, bad)]
        if not rows:
            return UpdateResult(steps=0)
        args = DPOConfig(**self.common_args(policy, seed), learning_rate=1e-3, per_device_train_batch_size=4,
                         num_train_epochs=1)
        trainer = DPOTrainer(model=policy.model, ref_model=copy.deepcopy(policy.model).eval(), args=args,
                             train_dataset=datasets.Dataset.from_list(rows), processing_class=policy.tokenizer)
        train_quietly(trainer)
        policy.model.eval()
        return UpdateResult(steps=trainer.state.global_step, metrics={"train/pairs": len(rows)},
                            log_history=trainer.state.log_history)
