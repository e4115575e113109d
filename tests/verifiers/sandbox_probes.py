"""Probes of the host's /proc for the sandbox tests: which processes a sandbox left running."""

from __future__ import annotations

import time
from pathlib import Path


def processes_of(uids) -> list[int]:
    """Host pids running under any of ``uids`` (the jail's pid namespace hides nothing from
    the host's /proc)."""
    uids = {u for u in uids if u is not None}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        if int(uid_line.split()[1]) in uids:
            pids.append(int(entry.name))
    return pids


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.parent.name))
    return found


def wait_for(predicate, seconds: float = 30.0) -> bool:
    """Poll ``predicate`` until it holds. The generous default is for loaded CI machines (a
    jail's processes took over 3 s to be reaped at load 10); a passing check returns at once."""
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()
