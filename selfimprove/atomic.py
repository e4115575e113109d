"""Write a file or a directory so that readers see the old version or the complete new one.

Every durable write of a run (state, manifests, trace files, checkpoints, converted models)
goes through :func:`replacing`: the content is written under a temporary name in the same
directory (same filesystem, so the final rename is atomic) and renamed over the target only
when the writer finished without an exception. A crash leaves at most a ``.<name>.tmp<pid>``
leftover, never a half-written target.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


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
