"""The run directory: created once per run, with the resolved config in it.

A start that failed before its first phase (bad task data, a model that would not load) leaves
only ``config.yaml`` and ``train.log``: the same command reuses such a directory rather than
refusing it as "already exists". ``--resume`` clears what writes killed midway left behind
(:func:`remove_leftovers`).
"""

from __future__ import annotations

import datetime
import logging
import shutil
from pathlib import Path

from selfimprove import atomic, configio
from selfimprove.config import Config

log = logging.getLogger(__name__)

#: What a start leaves before its first phase: a directory holding only these has nothing to lose.
_BEFORE_FIRST_PHASE = frozenset({"config.yaml", "train.log"})


class RunDirError(RuntimeError):
    pass


def default_run_name(config_path: str | None) -> str:
    stem = Path(config_path).stem if config_path else "run"
    return f"{stem}-{datetime.datetime.now():%Y%m%d-%H%M%S}"


def name_unnamed(cfg: Config, config_path: str | None) -> Config:
    """Give a run without ``run.name`` (or ``auto``) its default name, the same on every rank.

    Rank 0 names it and broadcasts the name: ranks naming it by their own clocks wrote to
    different directories when they started in different seconds. Initialises the process group.
    """
    from selfimprove import distributed

    if cfg.run.name in ("", "auto"):
        distributed.init()
        cfg.run.name = distributed.broadcast_object(default_run_name(config_path))
    return cfg


def prepare(cfg: Config, *, resume: bool = False) -> Path:
    """Create the run directory and save the resolved config in it.

    An existing directory is an error unless resuming (kept as is), ``run.overwrite``, or it holds
    nothing but what a start that failed before its first phase left (reused).
    """
    path = cfg.run_dir
    if path.exists() and not resume:
        if holds_no_phase(path):
            log.info("reusing %s: an earlier start stopped before its first phase", path)
        elif not cfg.run.overwrite:
            raise RunDirError(
                f"run directory {path} already exists; pass --resume to continue it, "
                f"--set run.overwrite=true to replace it, or choose another --set run.name=..."
            )
        else:
            shutil.rmtree(path)
    if resume and not path.exists():
        raise RunDirError(f"--resume: run directory {path} does not exist")
    path.mkdir(parents=True, exist_ok=True)
    configio.dump(cfg, path / "config.yaml")
    return path


def holds_no_phase(path: Path) -> bool:
    """Whether ``path`` holds only a config, a log and leftovers of killed writes: no phase's outputs."""
    return path.is_dir() and all(p.name in _BEFORE_FIRST_PHASE or atomic.is_leftover(p) for p in path.iterdir())


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Delete the temporaries that writes killed midway left in the run directory, its ``checkpoints/``
    (a whole ``.round-NNN.tmp<pid>/`` model) and ``traces/``. For ``--resume``, on rank 0, before
    the first phase."""
    return [p for d in (run_dir, run_dir / "checkpoints", run_dir / "traces") for p in atomic.remove_leftovers(d)]
