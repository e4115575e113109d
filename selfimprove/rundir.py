"""The run directory: created once per run, with the resolved config in it."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

from selfimprove import configio
from selfimprove.config import Config


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

    An existing directory is an error unless resuming (kept as is) or ``run.overwrite``.
    """
    path = cfg.run_dir
    if path.exists() and not resume:
        if not cfg.run.overwrite:
            raise RunDirError(
                f"run directory {path} already exists; pass --resume to continue it, "
                f"--set run.overwrite=true to replace it, or choose another --set run.name=..."
            )
        shutil.rmtree(path)
    if resume and not path.exists():
        raise RunDirError(f"--resume: run directory {path} does not exist")
    path.mkdir(parents=True, exist_ok=True)
    configio.dump(cfg, path / "config.yaml")
    return path
