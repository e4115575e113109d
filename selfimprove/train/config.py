"""The ``train`` section of the run config: rounds, then one section per update strategy.

Options that belong to one strategy live in its section (``train.rft.*``, ``train.grpo.*``);
the keys they had before 0.2 are listed in :data:`MOVED_KEYS`, so an old config fails with the
new key's name.

TRL options that we only forward (``loss_type``, ``beta``, ``epsilon_high``, ...) keep TRL's
names; anything else TRL accepts goes through ``extra`` and is checked against the TRL config
class when the trainer is built, so a typo fails with the key's name instead of being ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from rollouts.fields import field


#: TRL GRPOConfig options that cannot work with our rollout_func (TRL would never use them).
_NOT_WITH_OUR_ROLLOUTS = frozenset({"use_vllm", "vllm_mode", "vllm_server_base_url", "vllm_server_host"})

#: How the behaviour-vs-trainer ratio is applied (TRL's names for its vLLM-only correction).
IMPORTANCE_MODES = ("token_truncate", "token_mask", "sequence_truncate", "sequence_mask")
#: Loss types whose per-token term is -min(r A, clip(r) A): a positive weight on A scales it exactly.
CORRECTABLE_LOSSES = ("grpo", "bnpo", "dr_grpo", "dapo")


@dataclasses.dataclass
class GRPOOptions:
    learning_rate: float = field(1e-6, help="AdamW learning rate (TRL GRPOConfig.learning_rate).")
    steps_per_round: int = field(8, help="Optimizer steps per grpo round (GRPOConfig.max_steps).")
    lr_scheduler_type: str = field(
        "constant", help="transformers scheduler over a whole stretch of consecutive grpo rounds (with carry_optimizer; "
        "else over each round)."
    )
    warmup_steps: float = field(
        0, help="Linear warm-up of the learning rate: a whole number of steps, or a share in [0, 1) of the stretch's "
        "steps (TrainingArguments.warmup_steps; use a *_with_warmup or decaying lr_scheduler_type). TRL's default: 0."
    )
    carry_optimizer: bool = field(
        True, help="Consecutive grpo rounds share one optimizer: AdamW moments, step count and LR schedule carry over "
        "(stored with each round's checkpoint, so --resume continues them); false = a fresh optimizer every round."
    )
    num_generations: int = field(8, help="Completions per prompt, the group size G (GRPOConfig.num_generations).")
    prompts_per_step: int = field(4, help="Prompts per optimizer step on each rank (TRL's per-device batch is prompts_per_step x "
                                 "num_generations sequences); a step trains prompts_per_step x world size groups in all.")
    gradient_accumulation_steps: int = field(
        1, help="Micro-batches per optimizer step: each forward/backward sees prompts_per_step x num_generations / "
        "this many sequences (it must divide them; TRL still generates the whole batch at once)."
    )
    loss_type: str = field("dapo", help="TRL loss_type: grpo, bnpo, dr_grpo, dapo, ... (see TRL's GRPOConfig).")
    beta: float = field(0.0, help="KL coefficient; 0 loads no reference model.")
    epsilon: float = field(0.2, help="Lower clipping epsilon.")
    epsilon_high: float | None = field(None, help="Upper clipping epsilon (DAPO clip-higher uses 0.28); None = epsilon.")
    scale_rewards: str = field("group", help="Reward scaling: group, batch, none (GRPOConfig.scale_rewards).")
    num_iterations: int = field(1, help="Updates per generated batch (GRPOConfig.num_iterations, mu).")
    mask_truncated_completions: bool = field(False, help="Exclude completions cut by the length cap from the loss.")
    truncated: Literal["invalid", "grade"] = field(
        "invalid", help="Reward of a completion the length cap cut off: 'invalid' = 0, not graded (it never reached "
        "its final answer); 'grade' = the verifier grades the partial text, as TRL's reward functions do. Graded, "
        "a cut-off text earns the answer it stated before rambling on, and GRPO learns to run to the cap."
    )
    reuse_rollouts: bool = field(
        True,
        help="Train on the groups the round's generate phase already sampled (served through TRL's "
        "rollout_func) instead of sampling again; later steps of a round then see groups up to one round old.",
    )
    refine: bool = field(
        False,
        help="Train on refinement episodes: a failed attempt gets the verifier's feedback and one revision, "
        "all one completion (feedback tokens masked); reward = the final answer's verification.",
    )
    dynamic_sampling: str = field(
        "step", help="DAPO dynamic sampling: 'step' = every optimizer step trains on groups with reward variance "
        "(flat groups are replaced by groups of fresh prompts, up to refill_passes times); 'round' = flat groups of "
        "the generate phase are replaced once per round; 'none' = train on every group, as TRL does."
    )
    refill_passes: int = field(1, help="Extra sampling passes on fresh prompts to replace flat groups (a step's or a "
                                "round's); what is still flat after them is trained on and counted (dynamic/flat_left).")
    importance_correction: str = field(
        "token_truncate", help="Truncated importance sampling of trainer vs behaviour logprobs, for every backend: "
        "token_truncate, token_mask, sequence_truncate, sequence_mask (TRL's vllm_importance_sampling_mode), or none."
    )
    importance_cap: float = field(3.0, help="Cap C of the importance ratio (TRL's vllm_importance_sampling_clip_max).")
    max_staleness: int | None = field(
        4, help="A pre-sampled group more than this many optimizer steps old is sampled afresh instead of trained on "
        "(None = no limit)."
    )
    extra: dict[str, Any] = field(factory=dict, help="Any other TRL GRPOConfig keyword, passed as is (checked by name).")

    def __post_init__(self) -> None:
        batch = self.prompts_per_step * self.num_generations
        if self.gradient_accumulation_steps < 1 or batch % self.gradient_accumulation_steps:
            raise ValueError(f"gradient_accumulation_steps must be >= 1 and divide prompts_per_step x num_generations "
                             f"= {batch}, got {self.gradient_accumulation_steps}")
        if self.dynamic_sampling not in ("step", "round", "none"):
            raise ValueError(f"dynamic_sampling must be step, round or none, got {self.dynamic_sampling!r}")
        if self.importance_correction not in IMPORTANCE_MODES + ("none",):
            raise ValueError(f"importance_correction must be one of {', '.join(IMPORTANCE_MODES)} or none, "
                             f"got {self.importance_correction!r}")
        if self.importance_correction != "none" and self.loss_type not in CORRECTABLE_LOSSES:
            raise ValueError(f"importance_correction works with loss_type {', '.join(CORRECTABLE_LOSSES)} (the ratio "
                             f"scales their clipped per-token term); set importance_correction=none for {self.loss_type}")
        if self.max_staleness is not None and self.max_staleness < 0:
            raise ValueError(f"max_staleness must be >= 0 or None, got {self.max_staleness}")
        for key in _NOT_WITH_OUR_ROLLOUTS.intersection(self.extra):
            raise ValueError(f"extra.{key} is not supported: selfimprove samples GRPO rollouts with its own engine "
                             "(through TRL's rollout_func), so TRL would load a second vLLM and never generate with it; "
                             "remove it and set rollouts.backend=vllm (rollouts.mode=server and rollouts.server_url "
                             "for a vLLM server)")


@dataclasses.dataclass
class LoraOptions:
    enabled: bool = field(False, help="Train a LoRA adapter (peft) instead of all weights.")
    r: int = field(16, help="LoRA rank.")
    alpha: int = field(32, help="LoRA alpha (scale = alpha / r).")
    dropout: float = field(0.0, help="LoRA dropout.")
    target_modules: list[str] = field(
        factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        help="Module names to adapt (Llama-style names by default).",
    )


@dataclasses.dataclass
class CurriculumOptions:
    enabled: bool = field(True, help="Pick each round's prompts from the learnable band of per-prompt pass rates.")
    band: list[float] = field(
        factory=lambda: [0.0, 1.0],
        help="[low, high]: a prompt is learnable when low < its latest pass rate < high (prompts never tried count "
        "as learnable); learnable prompts are drawn first, others only fill what is left.",
    )


@dataclasses.dataclass
class RationalizeOptions:
    enabled: bool = field(True, help="STaR rationalization: re-sample prompts with no correct attempt, with the answer as a hint.")
    samples: int = field(2, help="Hinted attempts per prompt.")
    max_prompts: int | None = field(None, help="Rationalize at most this many prompts per round (None = all that failed).")


@dataclasses.dataclass
class RefineOptions:
    enabled: bool = field(False, help="Self-refinement: a failed attempt gets the verifier's feedback and one revision.")
    max_prompts: int | None = field(None, help="Refine at most this many failed attempts per round (one per prompt).")
    train_on: Literal["conversation", "direct"] = field(
        "conversation",
        help="'conversation' trains the revision after the attempt and the feedback (learn to correct); "
        "'direct' trains the revision as an answer to the bare prompt.",
    )

@dataclasses.dataclass
class RFTOptions:
    """Rejection-sampling fine-tuning: sample K, keep verified traces, fine-tune with TRL SFTTrainer."""

    samples_per_prompt: int = field(8, help="Attempts per prompt in the generate phase (K).")
    per_prompt_cap: int = field(4, help="At most this many verified traces kept per prompt per round.")
    dedupe: bool = field(True, help="Drop a kept trace whose normalised text equals one already kept for its prompt.")
    prefer: Literal["shortest", "random"] = field(
        "shortest", help="Which verified traces fill the cap (shortest counters length growth)."
    )
    accumulate: bool = field(True, help="Train on the traces kept in all rounds so far, not only this round's.")
    restart_from_base: bool = field(
        False, help="Fine-tune the base model every round (ReST-EM) instead of continuing from the last policy."
    )
    rationalize: RationalizeOptions = field(factory=RationalizeOptions, help="STaR rationalization.")
    refine: RefineOptions = field(factory=RefineOptions, help="Self-refinement with verifier feedback.")
    learning_rate: float = field(2e-5, help="AdamW learning rate (TRL SFTConfig.learning_rate).")
    epochs: float = field(2.0, help="Passes over the round's training set (SFTConfig.num_train_epochs).")
    batch_size: int = field(16, help="Sequences per optimizer step (per device).")
    gradient_accumulation_steps: int = field(1, help="Micro-batches per optimizer step.")
    max_length: int = field(512, help="Prompt + completion tokens; longer examples are truncated.")
    lr_scheduler_type: str = field("constant", help="transformers scheduler name (constant, linear, cosine, ...).")
    warmup_steps: float = field(0.0, help="Warm-up steps; a float in [0, 1) is a fraction of all steps (TRL warmup_steps).")
    weight_decay: float = field(0.0, help="AdamW weight decay.")
    max_grad_norm: float = field(1.0, help="Gradient clipping norm.")
    extra: dict[str, Any] = field(factory=dict, help="Any other TRL SFTConfig keyword, passed as is (checked by name).")

    def __post_init__(self) -> None:
        if self.samples_per_prompt < 1 or self.per_prompt_cap < 1:
            raise ValueError("samples_per_prompt and per_prompt_cap must be >= 1")


@dataclasses.dataclass
class TrainConfig:
    rounds: int = field(3, help="Self-improvement rounds (sample -> verify -> select -> update -> eval).")
    schedule: list[str] = field(
        factory=lambda: ["rft"],
        help="Update strategy per round (names from selfimprove.train.strategies); the last entry repeats, "
        "e.g. [rft, rft, grpo].",
    )
    prompts_per_round: int | None = field(
        64, help="Train prompts sampled each round (None = the whole train split); a grpo round samples at most "
        "grpo.steps_per_round x grpo.prompts_per_step x world size of them, what it trains on.")
    reward: Literal["verifier", "random", "shuffled"] = field(
        "verifier",
        help="Controls for training verdicts (sampled phases and grpo rewards); evaluation still uses the verifier. "
        "'random': each is a coin flip (p = 0.5, seeded per completion); 'shuffled': the verifier's verdicts on "
        "each batch, permuted among its samples (as many correct as the verifier gave, none tied to correctness).",
    )
    eval_before: bool = field(True, help="Evaluate the base policy on the held-out split before round 1.")
    eval_every: int = field(
        1, help="Evaluate on the held-out split after every N-th round; the last round (by count or time budget) "
        "is always evaluated."
    )
    time_budget_minutes: float | None = field(
        None, help="Start no new round after this much wall-clock time excluding evaluation (None = no limit)."
    )
    keep_checkpoints: int = field(1, help="Round checkpoints kept on disk (older ones are deleted; >= 1 for resume).")
    empty_rounds_limit: int = field(
        1, help="Stop the run after this many rounds in a row that gave the update nothing to learn from (the verifier "
        "graded none of a phase's traces, or 0 optimizer steps); each is a warning. 0 = only warn."
    )
    deepspeed: str | None = field(
        None, help="DeepSpeed JSON config for both strategies' trainers (configs/deepspeed/zero2.json, zero3.json, "
        "zero3_offload.json); None = plain DDP or one process."
    )
    peak_tflops: float | None = field(
        None, help="Peak TFLOP/s of one device for the MFU estimate (throughput/mfu); None = look it up for known "
        "GPUs (H100/H200 989 bf16 dense), none on a CPU."
    )
    gradient_checkpointing: bool = field(False, help="Recompute activations in the backward pass: less memory, ~30% more compute.")
    rft: RFTOptions = field(factory=RFTOptions, help="Options of the rft strategy (TRL SFTTrainer).")
    grpo: GRPOOptions = field(factory=GRPOOptions, help="Options of the grpo strategy (TRL GRPOTrainer).")
    lora: LoraOptions = field(factory=LoraOptions, help="Parameter-efficient training through peft.")
    curriculum: CurriculumOptions = field(factory=CurriculumOptions, help="Prompt selection from per-prompt pass rates.")

    def __post_init__(self) -> None:
        if self.rounds < 0 or self.keep_checkpoints < 1:
            raise ValueError("rounds must be >= 0 and keep_checkpoints >= 1")
        for section in ("rft", "grpo"):
            if self.deepspeed is not None and "deepspeed" in getattr(self, section).extra:
                raise ValueError(f"set DeepSpeed once: train.deepspeed or train.{section}.extra.deepspeed, not both")
        if not self.schedule:
            raise ValueError("schedule must name at least one strategy, e.g. [rft]")
        if self.eval_every < 1:
            raise ValueError(f"eval_every must be >= 1 (1 = after every round), got {self.eval_every}")
        low, high = (self.curriculum.band + [None, None])[:2] if len(self.curriculum.band) == 2 else (None, None)
        if low is None or not 0.0 <= low < high <= 1.0:
            raise ValueError(f"curriculum.band must be [low, high] with 0 <= low < high <= 1, got {self.curriculum.band}")

    def strategy_for(self, round: int) -> str:
        """Strategy of 1-based ``round``: the schedule's entry, the last one repeating."""
        return self.schedule[min(round, len(self.schedule)) - 1]


#: Keys that moved in 0.2 (old dotted key -> new one); using an old one is a config error naming the new.
MOVED_KEYS: dict[str, str] = {
    "train.sft": "train.rft",
    **{f"train.{k}": f"train.rft.{k}" for k in ("samples_per_prompt", "per_prompt_cap", "dedupe", "prefer",
                                                "accumulate", "restart_from_base", "rationalize", "refine")},
    "train.curriculum.drop_zero_variance": "train.grpo.dynamic_sampling",
    "train.grpo.drop_zero_variance": "train.grpo.dynamic_sampling",
    "train.curriculum.refill_passes": "train.grpo.refill_passes",
}
