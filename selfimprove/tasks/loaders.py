"""Load problems from files or the Hugging Face hub, with column mapping.

``task.name``:
- ``jsonl`` / ``parquet``: ``task.path`` is a file (used for both splits, or see ``*_split``) or a
  directory holding ``<split>.jsonl`` / ``<split>.parquet``.
- ``hf``: ``task.path`` is a hub dataset name (needs network access to the hub) or a local
  dataset directory saved with ``save_to_disk``-compatible layout; splits by name.
- ``gsm8k``: JSONL files ``train.jsonl`` / ``test.jsonl`` in ``task.path`` with GSM8K's columns
  (``question``, ``answer`` ending in ``#### n``).

Gold answers are read per ``task.answer_format``: ``gsm8k`` takes the text after the last
``####``, ``boxed`` the last ``\\boxed{...}``, ``plain`` the column as is, ``auto`` tries the
first two and falls back to plain.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from selfimprove import datafiles
from selfimprove.tasks.base import Problem, TaskError


def _last_braced(text: str, command: str) -> str | None:
    """Content of the last ``command{...}``, honouring nested braces."""
    start = text.rfind(command + "{")
    if start < 0:
        return None
    depth, i = 0, start + len(command)
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j]
    return None


def gold_answer(raw: Any, fmt: str) -> str:
    text = str(raw).strip()
    if fmt in ("gsm8k", "auto") and "####" in text:
        return text.rsplit("####", 1)[1].strip().replace(",", "")
    if fmt in ("boxed", "auto"):
        boxed = _last_braced(text, "\\boxed")
        if boxed is not None:
            return boxed.strip()
    if fmt in ("gsm8k", "boxed"):
        marker = "'#### n'" if fmt == "gsm8k" else "\\boxed{}"
        raise TaskError(f"gold answer has no {marker} part: {text[:80]!r}; set task.answer_format to 'plain' or 'auto'")
    return text


def _read_split(kind: str, path: str, split: str):
    import datasets

    datasets.disable_progress_bars()
    p = Path(path).expanduser()
    if kind in ("jsonl", "parquet", "gsm8k"):
        fmt = "parquet" if kind == "parquet" else "json"
        ext = ".parquet" if kind == "parquet" else ".jsonl"
        if p.is_dir():
            p = p / f"{split}{ext}"
        if not p.exists():
            raise TaskError(f"task.path: {p} does not exist (expected a {ext} file or a directory with {split}{ext})")
        if fmt == "json" and p.suffix != ".json":  # (a .json file may hold one JSON array, which datasets reads)
            datafiles.read_jsonl(p)  # an empty or malformed file fails here, naming file and line, not deep in datasets
        return datasets.load_dataset(fmt, data_files=str(p), split="train")
    if kind == "hf":
        if p.exists():
            return datasets.load_from_disk(str(p))[split]
        try:
            return datasets.load_dataset(path, split=split)
        except Exception as exc:  # hub errors come in many types; re-raise as one clear message
            raise TaskError(f"task.path: cannot load hub dataset '{path}' split '{split}': {exc}") from exc
    raise TaskError(f"unknown loader '{kind}'")


def load(kind: str, path: str | None, split: str, question_column: str, answer_column: str,
         answer_format: str) -> list[Problem]:
    if not path:
        raise TaskError(f"task '{kind}' needs task.path (a file, directory or dataset name)")
    if kind == "gsm8k" and answer_format == "auto":
        answer_format = "gsm8k"
    data = _read_split(kind, path, split)
    missing = [c for c in (question_column, answer_column) if c not in data.column_names]
    if missing:
        raise TaskError(
            f"{path} ({split}): missing column(s) {missing}; available: {data.column_names}. "
            f"Set task.question_column / task.answer_column."
        )
    problems = []
    for row in data:
        question = str(row[question_column])
        digest = hashlib.sha1(question.encode()).hexdigest()[:12]
        extra = {k: v for k, v in row.items() if k not in (question_column, answer_column)}
        problems.append(Problem(
            id=f"{kind}-{split}-{digest}", prompt=question,
            reference=gold_answer(row[answer_column], answer_format), task=kind, fields=extra,
        ))
    return problems
