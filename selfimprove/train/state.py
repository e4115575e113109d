"""Resume state: which phases are done, counters, RNG states, the latest checkpoint.

``<run_dir>/state.json`` is rewritten atomically after every phase; ``<run_dir>/rng.pt`` holds
the Python / NumPy / torch RNG states of that moment. A phase is either listed as completed
(its outputs — traces in the store, a checkpoint — are on disk) or it is run again from its
start on resume. Every phase also seeds its own sampling from (run seed, round, phase), so a
re-run phase draws the same samples it would have drawn the first time.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import torch

from selfimprove import atomic


def phase_key(round: int, phase: str) -> str:
    return f"{round}:{phase}"


@dataclasses.dataclass
class TrainState:
    completed: list[str] = dataclasses.field(default_factory=list)  # phase_key()s, in order
    global_step: int = 0  # optimizer steps over all rounds
    rounds_done: int = 0
    checkpoint: str | None = None  # the latest policy checkpoint (None = the base model)
    checkpoints: list[str] = dataclasses.field(default_factory=list)
    train_wall_s: float = 0.0  # wall-clock of all phases except evaluation
    eval_wall_s: float = 0.0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # one eval summary per round

    def done(self, round: int, phase: str) -> bool:
        return phase_key(round, phase) in self.completed

    # -- persistence --

    def save(self, run_dir: Path) -> None:
        rng = {"python": random.getstate(), "torch": torch.get_rng_state()}
        try:
            import numpy as np

            rng["numpy"] = np.random.get_state()
        except ImportError:
            pass  # numpy is optional for us; nothing to save then
        with atomic.replacing(run_dir / "rng.pt") as tmp:
            torch.save(rng, tmp)
        atomic.write_json(run_dir / "state.json", dataclasses.asdict(self))

    @classmethod
    def load(cls, run_dir: Path) -> TrainState:
        path = run_dir / "state.json"
        if not path.exists():
            return cls()
        state = cls(**json.loads(path.read_text()))
        rng_path = run_dir / "rng.pt"
        if rng_path.exists():
            rng = torch.load(rng_path, weights_only=False)
            random.setstate(rng["python"])
            torch.set_rng_state(rng["torch"])
            if "numpy" in rng:
                import numpy as np

                np.random.set_state(rng["numpy"])
        return state

    def complete(self, run_dir: Path, round: int, phase: str, **updates: Any) -> None:
        """Mark a phase done (with counter updates) and persist, atomically."""
        for key, value in updates.items():
            if not hasattr(self, key):
                raise AttributeError(f"TrainState has no field {key!r}")
            setattr(self, key, value)
        self.completed.append(phase_key(round, phase))
        self.save(run_dir)
