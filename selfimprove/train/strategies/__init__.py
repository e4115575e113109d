"""Update strategies, by name. ``train.schedule`` lists one name per round (the last repeats).

To add a strategy: subclass :class:`~selfimprove.train.strategies.base.Strategy` in a new
module (set ``name``; implement ``collect``, which runs the round's sampling phases through the
:class:`~selfimprove.train.context.RoundContext`, and ``update``), then add one line to
``STRATEGIES`` below. Nothing in the loop changes. Its options belong in a section
``train.<name>`` of :mod:`selfimprove.train.config`, each with help text.
"""

from __future__ import annotations

from pathlib import Path

from selfimprove.config import Config
from selfimprove.train.strategies.base import RoundData, Strategy, UpdateResult
from selfimprove.train.strategies.grpo import GRPO
from selfimprove.train.strategies.rft import RFT
from verifiers.runtime import VerifierRuntime
from verifiers.suggest import did_you_mean

STRATEGIES: dict[str, type[Strategy]] = {
    "rft": RFT,
    "grpo": GRPO,
}


class UnknownStrategyError(ValueError):
    pass


def check_schedule(schedule: list[str]) -> None:
    """Fail before any sampling when ``train.schedule`` names an unknown strategy."""
    for i, name in enumerate(schedule):
        if name not in STRATEGIES:
            raise UnknownStrategyError(f"train.schedule[{i}]: unknown strategy '{name}'"
                                       f"{did_you_mean(name, STRATEGIES)} Available: {', '.join(STRATEGIES)}")


def build_strategy(name: str, cfg: Config, runtime: VerifierRuntime, work_dir: Path) -> Strategy:
    check_schedule([name])
    return STRATEGIES[name](cfg, runtime, work_dir)


__all__ = ["STRATEGIES", "RoundData", "Strategy", "UpdateResult", "UnknownStrategyError", "build_strategy",
           "check_schedule"]
