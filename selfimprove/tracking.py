"""One metrics interface for every backend: JSONL (default), Weights & Biases, or nothing.

Only rank 0 logs; other ranks get a :class:`NullTracker` with the same methods. W&B is used
when ``logging.wandb`` is true; ``WANDB_MODE=offline`` works without network (sync later with
``wandb sync``). The JSONL file is always written too, so ``selfimprove report`` needs only the
run directory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

from selfimprove import atomic


class Tracker:
    """Base interface. ``step`` is the global optimizer step; ``round`` goes in the metrics."""

    def log_config(self, config: dict[str, Any]) -> None: ...

    def log(self, metrics: dict[str, Any], step: int) -> None: ...

    def log_table(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], step: int) -> None: ...

    def finish(self) -> None: ...


class NullTracker(Tracker):
    """For non-zero ranks and tests: accepts everything, writes nothing."""


class JsonlTracker(Tracker):
    """Appends ``{"step": ..., "time": ..., **metrics}`` lines to ``<run_dir>/metrics.jsonl``."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.tables = Path(run_dir) / "tables"

    def log(self, metrics: dict[str, Any], step: int) -> None:
        with atomic.disk_full_named(self.path), self.path.open("a") as f:
            f.write(json.dumps({"step": step, "time": time.time(), **metrics}, default=float) + "\n")

    def log_table(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], step: int) -> None:
        self.tables.mkdir(exist_ok=True)
        path = self.tables / f"{name}.jsonl"
        with atomic.disk_full_named(path), path.open("a") as f:
            for row in rows:
                f.write(json.dumps({"step": step, **dict(zip(columns, row))}, default=str) + "\n")


class WandbTracker(Tracker):
    def __init__(self, run_dir: Path, *, project: str, group: str | None, name: str, config: dict[str, Any]):
        import wandb

        self._wandb = wandb
        self.run = wandb.init(project=project, group=group, name=name, dir=str(run_dir), config=config,
                              resume="allow", id=name)

    def log_config(self, config: dict[str, Any]) -> None:
        self.run.config.update(config, allow_val_change=True)

    def log(self, metrics: dict[str, Any], step: int) -> None:
        self.run.log(metrics, step=step)

    def log_table(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], step: int) -> None:
        self.run.log({name: self._wandb.Table(columns=list(columns), data=[list(r) for r in rows])}, step=step)

    def finish(self) -> None:
        self.run.finish()


class MultiTracker(Tracker):
    def __init__(self, trackers: Sequence[Tracker]):
        self.trackers = list(trackers)

    def log_config(self, config):
        for t in self.trackers:
            t.log_config(config)

    def log(self, metrics, step):
        for t in self.trackers:
            t.log(metrics, step)

    def log_table(self, name, columns, rows, step):
        for t in self.trackers:
            t.log_table(name, columns, rows, step)

    def finish(self):
        for t in self.trackers:
            t.finish()


def build_tracker(cfg, run_dir: Path, *, is_main: bool = True) -> Tracker:
    """JSONL always (rank 0), plus W&B when ``logging.wandb`` is set; a NullTracker elsewhere."""
    if not is_main:
        return NullTracker()
    from selfimprove import configio

    trackers: list[Tracker] = [JsonlTracker(run_dir)]
    if cfg.logging.wandb:
        trackers.append(WandbTracker(run_dir, project=cfg.logging.project, group=cfg.logging.group,
                                     name=cfg.run.name, config=configio.to_dict(cfg)))
    return MultiTracker(trackers)
