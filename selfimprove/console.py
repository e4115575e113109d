"""What a person sees while ``selfimprove train`` runs, and the run's log file.

The console gets one line per phase with the numbers people watch (samples/s, reward, kept,
pass@k, loss), its duration and an ETA for the run; long phases show a tqdm bar on a terminal.
Everything else, including the TRL trainers' per-step log dicts, goes to ``<run_dir>/train.log``
(and every metric to ``metrics.jsonl``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def run_log(run_dir: Path, *, enabled: bool = True) -> Iterator[None]:
    """Copy the run's log records to ``<run_dir>/train.log``; trainer step logs go only there.

    An exception that ends the run is written there with its traceback; the console shows the
    CLI's one-line message. ``enabled`` is false on non-zero ranks: one process writes the file.
    """
    if not enabled:
        yield
        return
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root, trainer = logging.getLogger(), logging.getLogger("selfimprove.trainer")
    root.addHandler(handler)
    trainer.addHandler(handler)
    trainer.setLevel(logging.INFO)
    trainer.propagate = False  # the console shows one line per phase, not one per optimizer step
    failures = logging.getLogger("selfimprove.failure")  # to the file only: the console gets one line
    failures.addHandler(handler)
    failures.propagate = False
    try:
        yield
    except BaseException as exc:
        failures.error("the run stopped: %s: %s", type(exc).__name__, exc, exc_info=True)
        raise
    finally:
        failures.removeHandler(handler)
        root.removeHandler(handler)
        trainer.removeHandler(handler)
        trainer.propagate = True
        handler.close()


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Console:
    """Phase lines with an ETA from the mean duration of the rounds done in this process."""

    def __init__(self, rounds: int, *, enabled: bool, budget_minutes: float | None = None) -> None:
        self.rounds = rounds
        self.enabled = enabled
        self.budget_s = None if budget_minutes is None else budget_minutes * 60
        self.round_s: list[float] = []
        self._round_start: float | None = None

    def say(self, text: str) -> None:
        if self.enabled:
            print(text, flush=True)

    def start_round(self) -> None:
        self._round_start = time.perf_counter()

    def end_round(self) -> None:
        if self._round_start is not None:
            self.round_s.append(time.perf_counter() - self._round_start)
            self._round_start = None

    def eta(self, round: int, train_wall_s: float) -> str:
        """Time left, from the mean round so far; bounded by the training time budget."""
        if not self.round_s:
            return ""
        left = (self.rounds - round) * sum(self.round_s) / len(self.round_s)
        if self.budget_s is not None:
            left = min(left, max(0.0, self.budget_s - train_wall_s))
        return f"  ETA {duration(left)}" if left > 0 else ""

    def phase(self, round: int, phase: str, seconds: float, numbers: dict[str, str], eta: str = "") -> None:
        fields = "  ".join(f"{k} {v}" for k, v in numbers.items())
        self.say(f"round {round}/{self.rounds}  {phase:<11} {fields}  [{duration(seconds)}]{eta}")
