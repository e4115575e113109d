"""TRL's GRPOTrainer, corrected for rollouts that did not come from the trainer's own weights.

Our rollouts reach TRL through ``rollout_func``, and TRL corrects for the sampler only when it
drives vLLM itself (``vllm_importance_sampling_correction``), which we do not let it do. Yet
every rollout of ours may be off-policy: a group the round's generate phase sampled is trained
on up to ``max_staleness`` optimizer steps later, and a vLLM engine (bf16, other kernels)
samples from a slightly different distribution than the trainer computes. :class:`CorrectedGRPOTrainer`
applies TRL's own correction to them, for any backend:

    w = min(pi_trainer(token) / pi_behaviour(token), C)          (token_truncate, the default)

where ``pi_behaviour`` are the log-probabilities the engine recorded while sampling (temperature
applied, as TRL computes the trainer's) and ``pi_trainer`` the trainer's at generation time;
``*_mask`` modes zero the tokens above C instead, ``sequence_*`` modes use one ratio per
completion. TRL multiplies its per-token loss by ``w``; we scale the advantages, which TRL
accepts per token, by ``w`` instead: for the clipped losses (grpo, bnpo, dr_grpo, dapo, whose
term is -min(r A, clip(r) A)) that is the same loss, since w >= 0. Where it is not: with a KL
term (``beta`` > 0) TRL's correction also scales the KL penalty, ours does not. The trainer's
log-probabilities also become ``old_per_token_logps``, so PPO clipping measures how far the
weights move from the ones that scored the batch (TRL does the same under its vLLM correction).

Logged per step: ``offpolicy/ratio_mean``, ``ratio_max``, ``clipped`` (share of tokens whose
ratio passed C), ``logp_diff`` (mean |trainer - behaviour|) and the staleness of the groups
trained on (mean, max, and the share at 0, 1, 2-3 and >= 4 steps). Limits: behaviour logprobs
ignore ``top_p`` (as TRL's do), so with top_p < 1 the ratio also carries the nucleus cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback
from transformers.trainer import TRAINER_STATE_NAME
from trl import GRPOTrainer
from trl.models.utils import disable_gradient_checkpointing

STALENESS_BUCKETS = (("0", 0, 0), ("1", 1, 1), ("2-3", 2, 3), (">=4", 4, None))


class CorrectedGRPOTrainer(GRPOTrainer):
    def __init__(self, *args: Any, importance_mode: str = "none", importance_cap: float = 3.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.importance_mode = importance_mode
        self.importance_cap = importance_cap

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        out = super()._generate_and_score_completions(inputs)
        mode = "train" if self.model.training else "eval"
        self._log_staleness(inputs, mode)  # rollout_func's extra fields are merged into ``inputs``
        behaviour = out.get("sampling_per_token_logps")
        if self.importance_mode == "none" or behaviour is None:
            return out
        current = out.get("old_per_token_logps")
        if current is None:
            current = self._trainer_logps(out, mode)
        mask = out["completion_mask"] * out["tool_mask"] if "tool_mask" in out else out["completion_mask"]
        weight, clipped, ratio = importance_weights(current, behaviour, mask, self.importance_mode, self.importance_cap)
        out["old_per_token_logps"] = current
        out["advantages"] = out["advantages"].unsqueeze(1) * weight  # (B, T) or (B, 1): TRL takes both
        tokens = mask.bool() if weight.shape[1] > 1 else torch.ones_like(weight, dtype=torch.bool)
        ratios, over = (ratio[tokens], clipped[tokens].float()) if tokens.any() else (ratio.new_ones(1), ratio.new_zeros(1))
        diff = torch.nan_to_num((current - behaviour).abs()[mask.bool()])
        gather, metrics = self.accelerator.gather, self._metrics[mode]
        metrics["offpolicy/ratio_mean"].append(gather(ratios.mean()).mean().item())
        metrics["offpolicy/ratio_max"].append(gather(ratios.max()).max().item())
        metrics["offpolicy/clipped"].append(gather(over.mean()).mean().item())
        metrics["offpolicy/logp_diff"].append(gather(diff.mean() if diff.numel() else diff.new_zeros(())).mean().item())
        return out

    def _issue_warnings_after_load(self, load_result: Any) -> None:
        # A round resumes its predecessor's checkpoint, a save_pretrained directory: with tied
        # embeddings it holds no lm_head.weight (the head is the embedding, loaded in place), which
        # transformers would report as a missing key at every round.
        if getattr(self.model.config, "tie_word_embeddings", False):
            load_result = load_result._replace(missing_keys=[k for k in load_result.missing_keys if k != "lm_head.weight"])
        super()._issue_warnings_after_load(load_result)

    def _trainer_logps(self, out: dict[str, Any], mode: str) -> torch.Tensor:
        """The trainer's per-token log-probabilities of the batch, with the weights of this step."""
        ids = torch.cat([out["prompt_ids"], out["completion_ids"]], dim=1)
        attention = torch.cat([out["prompt_mask"], out["completion_mask"]], dim=1)
        batch = self.args.per_device_train_batch_size if mode == "train" else self.args.per_device_eval_batch_size
        with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
            logps, _, _ = self._get_per_token_logps_and_entropies(self.model, ids, attention, out["completion_ids"].size(1),
                                                                  batch_size=batch)
        return logps

    def _log_staleness(self, inputs: list[dict[str, Any]], mode: str) -> None:
        if not inputs or "staleness" not in inputs[0]:
            return
        ages = self.accelerator.gather(torch.tensor([float(x["staleness"]) for x in inputs], device=self.accelerator.device))
        metrics = self._metrics[mode]
        metrics["offpolicy/staleness_mean"].append(ages.mean().item())
        metrics["offpolicy/staleness_max"].append(ages.max().item())
        for name, low, high in STALENESS_BUCKETS:
            inside = (ages >= low) & (ages <= (high if high is not None else float("inf")))
            metrics[f"offpolicy/staleness_{name}"].append(inside.float().mean().item())


def importance_weights(current: torch.Tensor, behaviour: torch.Tensor, mask: torch.Tensor, mode: str,
                       cap: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(weights, clipped, raw ratios) of ``current`` over ``behaviour`` log-probabilities [B, T].

    Token modes give [B, T] tensors, sequence modes [B, 1]. Tokens outside ``mask`` (padding,
    environment feedback) and tokens without a behaviour logprob (NaN) get ratio 1.
    """
    diff = torch.nan_to_num((current - behaviour) * mask, nan=0.0)
    if mode.startswith("sequence"):
        diff = diff.sum(-1, keepdim=True)
    ratio = torch.exp(diff)
    clipped = ratio > cap
    weight = ratio.clamp(max=cap) if mode.endswith("truncate") else ratio.masked_fill(clipped, 0.0)
    return weight, clipped, ratio


class StopAtStep(TrainerCallback):
    """End ``train()`` at global step ``step``: a round is a slice of its stretch's schedule."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001 - transformers' callback signature
        if state.global_step >= self.step:
            control.should_training_stop = True


def save_training_state(trainer: Any, directory: Path) -> None:
    """What ``Trainer.train(resume_from_checkpoint=...)`` reads besides the weights: optimizer,
    LR scheduler, grad scaler, RNG states and the trainer state (step count). Every rank calls it
    (under DeepSpeed each writes its optimizer shard). These are transformers' own checkpoint
    writers; we call them directly because our weights are saved by the loop, not the trainer."""
    directory.mkdir(parents=True, exist_ok=True)
    trainer._save_optimizer_and_scheduler(str(directory))
    trainer._save_scaler(str(directory))
    trainer._save_rng_state(str(directory))
    if trainer.args.should_save:
        trainer.state.save_to_json(str(directory / TRAINER_STATE_NAME))


def training_state_of(checkpoint: str | Path | None) -> Path | None:
    """``checkpoint`` if it holds a trainer's optimizer state (a grpo round's, since 0.3), else None."""
    if checkpoint is None:
        return None
    path = Path(checkpoint)
    return path if (path / TRAINER_STATE_NAME).exists() else None
