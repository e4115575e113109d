"""Write a file or a directory so that readers see the old version or the complete new one.

Every durable write of a run (state, manifests, trace files, checkpoints, converted models)
goes through :func:`replacing`: the content is written under a temporary name in the same
directory (same filesystem, so the final rename is atomic) and renamed over the target only
when the writer finished without an exception. A crash leaves at most a ``.<name>.tmp<pid>``
leftover, never a half-written target; :func:`remove_leftovers` clears those on ``--resume``.

A write that fails because the disk is full raises :class:`DiskFullError`, which names the path
and what to do, instead of whichever library error the writer (torch, safetensors, pyarrow) gave.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


#: Free space below which a failed write is taken for a full disk: torch.save reports ENOSPC only as
#: "unexpected pos ...", so the errno alone does not tell.
_NEARLY_FULL = 16 * 2**20
#: The temporary name :func:`replacing` writes under: ``.<name>.tmp<pid>``.
_TEMPORARY = re.compile(r"\..+\.tmp\d+")


class DiskFullError(RuntimeError):
    """A write failed for lack of space; the message names the path and what to do."""

    def __init__(self, path: Path, available: int):
        self.path = path
        super().__init__(
            f"disk full while writing {path}: it needs more than the {available / 2**20:.1f} MiB that were free for it. "
            "Free space on that disk, or move the run directory to a larger one and run the same command with --resume "
            "(and --set run.output_dir=<its new parent>); the last committed phase is kept")


def _bytes_in(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _is_disk_full(exc: BaseException, directory: Path) -> bool:
    if not isinstance(exc, Exception):
        return False  # KeyboardInterrupt, SystemExit: not the disk
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "errno", None) == errno.ENOSPC or "No space left on device" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        return shutil.disk_usage(directory).free < _NEARLY_FULL
    except OSError:
        return False


@contextlib.contextmanager
def disk_full_named(path: str | Path, written: Path | None = None) -> Iterator[None]:
    """Turn a failure for lack of space inside the block into :class:`DiskFullError` naming ``path``.

    ``written``: the new file or directory the block writes, measured for the message (None: an append).
    """
    path = Path(path)
    try:
        yield
    except Exception as exc:
        if not _is_disk_full(exc, path.parent):
            raise
        free = shutil.disk_usage(path.parent).free if path.parent.exists() else 0
        raise DiskFullError(path, (_bytes_in(written) if written else 0) + free) from exc


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it over ``path``.

    Works for files and directories alike. An existing directory target is removed first
    (``os.replace`` cannot replace a non-empty directory), so for directories there is a short
    window without either version; callers that need more commit through a manifest.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    _remove(tmp)  # a leftover of an earlier crash of a process with our pid
    try:
        with disk_full_named(path, written=tmp):
            yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if tmp.is_dir() and path.exists():
        _remove(path)
    os.replace(tmp, path)


def write_text(path: str | Path, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def is_leftover(path: Path) -> bool:
    """Whether ``path`` is named as :func:`replacing`'s temporaries are."""
    return bool(_TEMPORARY.fullmatch(path.name))


def remove_leftovers(directory: str | Path) -> list[Path]:
    """Delete the ``.<name>.tmp<pid>`` files and directories that writes killed midway left in ``directory``.

    Only when no writer is running there (``--resume``, before the first phase): a live
    process's temporary looks the same.
    """
    directory = Path(directory)
    found = sorted(p for p in directory.iterdir() if is_leftover(p)) if directory.is_dir() else []
    for p in found:
        _remove(p)
    return found
