"""The run's book of phases: commit a phase's outputs, then mark it done; log what it took.

Every phase of a round (``generate`` and the strategy's other sampling phases, ``train``,
``eval``) ends the same way: its outputs are committed (traces into the store, or for ``train``
the checkpoint directory), then ``state.json`` records the phase as done with its counters. A
phase whose outputs are on disk but that is not marked done was committed just before a crash:
``--resume`` adopts it rather than running it again. Every rank takes part in every call, in the
same order; rank 0 writes, and the others re-read what it wrote.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

from rollouts.trace import Trace
from selfimprove import distributed
from selfimprove.config import Config
from selfimprove.console import Console
from selfimprove.sampling import sampling_record
from selfimprove.store import TraceStore
from selfimprove.tracking import Tracker
from selfimprove.train.empty_rounds import EmptyRounds
from selfimprove.train.state import TrainState
from selfimprove.train.throughput import RoundClock

log = logging.getLogger(__name__)


class Ledger:
    def __init__(self, cfg: Config, run_dir: Path, store: TraceStore, state: TrainState, world: distributed.World,
                 tracker: Tracker, console: Console):
        self.cfg, self.run_dir, self.store, self.state, self.world = cfg, run_dir, store, state, world
        self.tracker, self.console = tracker, console
        self.clock = RoundClock()  # where the current round's time goes (throughput/* metrics)
        self.empty = EmptyRounds(cfg.train.empty_rounds_limit, self.warn)  # rounds that gave nothing to learn
        self._lines: set[str] | None = None  # names of the metrics lines written (see log)

    def commit(self, round: int, phase: str, traces: list[Trace], kept: Sequence[bool], num_samples: int) -> None:
        """The phase's traces into the store (``num_samples`` per prompt, for the sampling record)."""
        if self.world.is_main:
            self.store.commit(round, phase, traces, kept=kept, sampling=sampling_record(self.cfg.sampling, num_samples))
        distributed.barrier()
        if not self.world.is_main:  # rank 0 wrote it: re-read the manifest so every rank sees the same store
            self.store.reload()

    def complete(self, round: int, phase: str, seconds: float, *, eval_phase: bool = False, **updates: Any) -> None:
        """Mark the phase done in ``state.json``, its seconds added to the training (or eval) clock."""
        if eval_phase:
            updates["eval_wall_s"] = self.state.eval_wall_s + seconds
        else:
            updates["train_wall_s"] = self.state.train_wall_s + seconds
        if self.world.is_main:
            self.state.complete(self.run_dir, round, phase, **updates)
        else:
            self.state.completed.append(f"{round}:{phase}")
            for k, v in updates.items():
                setattr(self.state, k, v)
        distributed.barrier()

    def log(self, metrics: dict[str, Any], round: int, step: int | None = None, *, line: str | None = None) -> None:
        """One ``metrics.jsonl`` line (and tracker step). ``line`` names it, and a named line that is
        in the file already (written before a crash that the phase did not survive) is not written
        again: a resumed run has the same lines as one never interrupted."""
        if line is not None:
            if line in self._written():
                return
            self._lines.add(line)
            metrics = {"line": line, **metrics}
        self.tracker.log({"round": round, **metrics}, step=self.state.global_step if step is None else step)

    def _written(self) -> set[str]:
        """Names of the lines in ``metrics.jsonl``, read once; a line cut short by a kill is dropped."""
        if self._lines is None:
            self._lines = set()
            path = self.run_dir / "metrics.jsonl"
            if self.world.is_main and path.exists():
                text = path.read_text()
                if text and not text.endswith("\n"):  # killed mid-write: cut the partial line
                    text = text[: text.rfind("\n") + 1]
                    path.write_text(text)
                self._lines = {json.loads(x).get("line") for x in text.splitlines()} - {None}
        return self._lines

    def warn(self, round: int, metric: str, message: str) -> None:
        """A warning a person must see: on the console and in ``train.log`` (through logging), and as
        ``metric`` in ``metrics.jsonl``."""
        if self.world.is_main:
            log.warning(message)
        self.log({metric: 1}, round, line=f"{round}:{metric}")
