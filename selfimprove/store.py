"""The trace store: every trace of every round, as Parquet, with provenance. Append-only.

Layout under ``<run_dir>/traces/``::

    manifest.json                       the files that exist, in commit order
    round-001/generate.parquet          one file per (round, phase), written once
    round-001/rationalize.parquet
    round-001/eval.parquet  ...

A (round, phase) file is written to a temp name and renamed, then the manifest (also written
atomically) names it: a crash leaves either no entry or a complete file. The manifest entry is
the commit record of a phase's traces; :mod:`selfimprove.train.loop` treats "listed in the
manifest" as "this phase's traces exist" so resuming never samples a phase twice. Committing a
(round, phase) that is already listed is an error: files are never rewritten.

Columns: :func:`rollouts.trace.arrow_schema` — :func:`rollouts.trace.to_row`'s plus
provenance: ``phase``, ``kept`` (selected for training), ``sampling_json`` (the sampling
parameters) and the trace's own ``policy`` (the checkpoint that sampled it) and ``verifier``
(``name@version``). Load everything with
:meth:`TraceStore.dataset` (a ``datasets.Dataset``) or ``datasets.load_dataset("parquet", ...)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Sequence

from rollouts.trace import Trace, arrow_schema, from_row, to_row
from selfimprove import atomic
from selfimprove.datafiles import read_json


def write_traces(path: Path, traces: Sequence[Trace], *, phase: str, kept: Sequence[bool] | None = None,
                 sampling: dict[str, Any] | None = None) -> None:
    """Traces -> one Parquet file with the fixed trace schema, atomically.

    The only writer of trace files: the store's phases, a round's rollouts and ``selfimprove
    eval`` all come through here, so their files share one schema.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if kept is not None and len(kept) != len(traces):
        raise ValueError("kept must have one flag per trace")
    sampling_json = json.dumps(sampling or {}, sort_keys=True, default=list)
    rows = [to_row(t) | {"phase": phase, "kept": bool(kept[i]) if kept is not None else False,
                         "sampling_json": sampling_json} for i, t in enumerate(traces)]
    with atomic.replacing(path) as tmp:
        pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()), tmp)


class StoreError(RuntimeError):
    """A trace store that is inconsistent or misused; the message names the file."""


class TraceStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifest_path = self.root / "manifest.json"
        self._entries: list[dict[str, Any]] = self._read_manifest()

    def _read_manifest(self) -> list[dict[str, Any]]:
        if not self.manifest_path.exists():
            return []
        entries = read_json(self.manifest_path, fix="restore it from the original run directory if this one is a copy; "
                            "it is the list of committed trace files, and without it the run cannot resume")["files"]
        for e in entries:
            if e["rows"] and not (self.root / e["path"]).exists():  # an empty phase has no file
                raise StoreError(f"{self.manifest_path} lists {e['path']}, which is missing; the store is damaged")
        return entries

    @staticmethod
    def _relpath(round: int, phase: str) -> str:
        return f"round-{round:03d}/{phase}.parquet"

    def has(self, round: int, phase: str) -> bool:
        return any(e["round"] == round and e["phase"] == phase for e in self._entries)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def commit(self, round: int, phase: str, traces: Sequence[Trace], *, kept: Sequence[bool] | None = None,
               sampling: dict[str, Any] | None = None) -> Path:
        """Write the traces of (round, phase) once; returns the file."""
        if self.has(round, phase):
            raise StoreError(f"traces of round {round} phase '{phase}' are already stored; the store is append-only")
        path = self.root / self._relpath(round, phase)
        if traces:
            write_traces(path, traces, phase=phase, kept=kept, sampling=sampling)
        entry = {"round": round, "phase": phase, "path": self._relpath(round, phase), "rows": len(traces)}
        entries = self._entries + [entry]
        atomic.write_json(self.manifest_path, {"version": 1, "files": entries})
        self._entries = entries
        return path

    def reload(self) -> None:
        """Re-read the manifest (another process committed)."""
        self._entries = self._read_manifest()

    @staticmethod
    def read_file(path: Path) -> tuple[list[Trace], list[bool]]:
        """(traces, kept flags) of one trace file written by :func:`write_traces`."""
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
        return [from_row(r) for r in rows], [bool(r["kept"]) for r in rows]

    def _entry(self, round: int, phase: str) -> dict[str, Any]:
        entry = next((e for e in self._entries if e["round"] == round and e["phase"] == phase), None)
        if entry is None:
            raise StoreError(f"no stored traces for round {round} phase '{phase}'")
        return entry

    def read(self, round: int, phase: str) -> tuple[list[Trace], list[bool]]:
        """(traces, kept flags) of one committed (round, phase)."""
        entry = self._entry(round, phase)
        return self.read_file(self.root / entry["path"]) if entry["rows"] else ([], [])

    def kept(self, phases: Iterable[str] | None = None, up_to_round: int | None = None) -> list[Trace]:
        """All traces marked kept, in commit order (optionally only some phases / rounds)."""
        wanted = set(phases) if phases is not None else None
        out: list[Trace] = []
        for e in self._entries:
            if (wanted is None or e["phase"] in wanted) and (up_to_round is None or e["round"] <= up_to_round):
                traces, kept = self.read(e["round"], e["phase"])
                out += [t for t, k in zip(traces, kept) if k]
        return out

    def files(self) -> list[Path]:
        return [self.root / e["path"] for e in self._entries if e["rows"]]

    def dataset(self):
        """Every stored trace as one ``datasets.Dataset`` (rows in commit order)."""
        import datasets

        files = self.files()
        if not files:
            raise StoreError(f"{self.root}: the store holds no traces yet")
        return datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train")

    def remove_orphans(self) -> list[Path]:
        """Delete Parquet files that no manifest entry names (left by a crash before the commit)."""
        listed = {self.root / e["path"] for e in self._entries}
        orphans = [p for p in self.root.glob("round-*/*") if p not in listed]
        for p in orphans:
            p.unlink()
        return orphans
