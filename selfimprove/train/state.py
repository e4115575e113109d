"""Resume state: which phases are done, counters, RNG states, the latest checkpoint.

``<run_dir>/state.json`` is rewritten atomically after every phase; ``<run_dir>/rng.pt`` holds
the Python / NumPy / torch RNG states of that moment. A phase is either listed as completed
(its outputs — traces in the store, a checkpoint — are on disk) or it is run again from its
start on resume. Every phase also seeds its own sampling from (run seed, round, phase), so a
re-run phase draws the same samples it would have drawn the first time.

Paths in ``state.json`` (the checkpoints) are stored relative to the run directory and resolved
against wherever it is now, so a moved or copied run directory resumes. In memory they are
``<run_dir>/checkpoints/round-NNN``, as the loop builds them. Files of version 1 (no
``version`` key) held the paths as built then, ``<run.output_dir>/<run.name>/checkpoints/...``
(absolute, or relative to that process's working directory): they are re-rooted on load.
"""

from __future__ import annotations

import dataclasses
import pickle
import random
from pathlib import Path
from typing import Any

import torch

from selfimprove import atomic
from selfimprove.datafiles import FileFormatError, read_json

#: 2: paths relative to the run directory (1, unmarked: paths as the loop built them).
VERSION = 2


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
        data = dataclasses.asdict(self)
        data["checkpoint"] = None if self.checkpoint is None else _stored(run_dir, self.checkpoint)
        data["checkpoints"] = [_stored(run_dir, c) for c in self.checkpoints]
        atomic.write_json(run_dir / "state.json", {"version": VERSION, **data})

    @classmethod
    def load(cls, run_dir: Path) -> TrainState:
        path = run_dir / "state.json"
        if not path.exists():
            return cls()
        data = read_json(path, fix="restore it from the original run directory if this one is a copy; otherwise "
                                   "start a new run (set another run.name): without it the run cannot resume")
        version = data.pop("version", 1)
        state = cls(**data)
        if state.checkpoint is not None:
            state.checkpoint = _resolved(run_dir, state.checkpoint, version)
        state.checkpoints = [_resolved(run_dir, c, version) for c in state.checkpoints]
        _restore_rng(run_dir / "rng.pt")
        return state

    def complete(self, run_dir: Path, round: int, phase: str, **updates: Any) -> None:
        """Mark a phase done (with counter updates) and persist, atomically."""
        for key, value in updates.items():
            if not hasattr(self, key):
                raise AttributeError(f"TrainState has no field {key!r}")
            setattr(self, key, value)
        self.completed.append(phase_key(round, phase))
        self.save(run_dir)


def _stored(run_dir: Path, path: str) -> str:
    """``path`` as ``state.json`` keeps it: relative to the run directory when inside it."""
    for base, target in ((run_dir, Path(path)), (run_dir.resolve(), Path(path).resolve())):
        if target.is_relative_to(base):
            return target.relative_to(base).as_posix()
    return path  # outside the run directory: kept as given


def _resolved(run_dir: Path, path: str, version: int) -> str:
    """A stored path as the loop uses it: joined to the run directory where it is now."""
    p = Path(path)
    if version >= 2:
        return path if p.is_absolute() else str(run_dir / p)
    if p.parent.name == "checkpoints":  # version 1: <old run dir>/checkpoints/round-NNN
        return str(run_dir / "checkpoints" / p.name)
    return path


def _restore_rng(path: Path) -> None:
    if not path.exists():
        return
    try:
        rng = torch.load(path, weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:  # a cut-off zip or pickle
        raise FileFormatError(f"{path}: truncated or not a torch file ({exc}); delete it and resume again: "
                              "every phase seeds its own sampling, so only the RNG state between phases is lost") from None
    random.setstate(rng["python"])
    torch.set_rng_state(rng["torch"])
    if "numpy" in rng:
        import numpy as np

        np.random.set_state(rng["numpy"])
