"""What an update strategy is: one hook, :meth:`Strategy.update`, called once per round.

The loop hands a strategy the policy (in memory) and the round's data; the strategy changes the
policy's weights in place (through a TRL trainer) and reports how many optimizer steps it took.
Strategies never sample the generate phase themselves, write the trace store, or save
checkpoints: the loop does, so resume works the same for every strategy.
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
from verifiers.runtime import VerifierRuntime


@dataclasses.dataclass
class RoundData:
    round: int
    problems: dict[str, Problem]  # the train split, by id
    generated: list[Trace]  # this round's graded first attempts
    training: list[Trace]  # rft: the kept traces to fine-tune on (accumulated when configured)
    groups: dict[str, list[Trace]]  # grpo: the round's groups with reward variance, by problem id


@dataclasses.dataclass
class UpdateResult:
    steps: int  # optimizer steps taken
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    traces: list[Trace] = dataclasses.field(default_factory=list)  # rollouts sampled during the update (graded)


class Strategy:
    """Base class. Subclasses set ``name`` and implement :meth:`update`."""

    name: ClassVar[str] = ""
    #: Groups with reward variance (grpo) or kept correct traces (rft) as the round's input.
    wants_groups: ClassVar[bool] = False

    def __init__(self, cfg: Config, runtime: VerifierRuntime, work_dir: Path):
        self.cfg = cfg
        self.runtime = runtime
        self.work_dir = work_dir

    def starts_from_base(self) -> bool:
        """True when each round should begin from the base model rather than the last policy."""
        return False

    def update(self, policy: LoadedModel, data: RoundData, *, seed: int) -> UpdateResult:
        raise NotImplementedError

    # -- helpers shared by TRL-backed strategies --

    def trainer_dir(self) -> str:
        """A scratch output_dir for the TRL trainer (we save checkpoints ourselves)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.work_dir)

    def common_args(self, policy: LoadedModel, seed: int) -> dict[str, Any]:
        """TrainingArguments shared by every TRL config we build."""
        on_cpu = policy.model.device.type == "cpu"
        return dict(
            output_dir=self.trainer_dir(), report_to=[], save_strategy="no", logging_steps=1, seed=seed,
            use_cpu=on_cpu, bf16=not on_cpu and policy.model.dtype == __import__("torch").bfloat16, fp16=False,
            disable_tqdm=True, dataloader_num_workers=0, activation_checkpointing=False,
        )


def checked_extra(config_cls: type, extra: dict[str, Any], key: str) -> dict[str, Any]:
    """``extra`` after checking every name is a field of the TRL config class."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(extra) - names)
    if unknown:
        import difflib

        hints = [f"{u} (did you mean {difflib.get_close_matches(u, names, n=1)[0]!r}?)"
                 if difflib.get_close_matches(u, names, n=1) else u for u in unknown]
        raise ValueError(f"{key}: unknown {config_cls.__name__} option(s): {', '.join(hints)}")
    return dict(extra)


def last_logged(log_history: list[dict[str, Any]], key: str) -> float:
    values = [e[key] for e in log_history if key in e and isinstance(e[key], (int, float))]
    return float(values[-1]) if values else math.nan


def mean_logged(log_history: list[dict[str, Any]], key: str) -> float:
    values = [e[key] for e in log_history if key in e and isinstance(e[key], (int, float))]
    return float(sum(values) / len(values)) if values else math.nan
