"""Read the files a run depends on, with errors that name the file, the place and the fix.

Task data (JSONL), and the run directory's own books (``state.json``, ``traces/manifest.json``):
when one cannot be read, :class:`FileFormatError` says which file, where in it (line, byte
offset), what is wrong and what to do, in one line; the CLI prints it without a traceback.
What is not covered: a JSONL file is checked line by line as JSON objects; which columns a
row needs is the loader's business (it names missing columns itself).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

#: What to do about a JSONL file that is not one JSON object per line.
_JSONL_FIX = "each line must be one JSON object, e.g. {\"question\": \"1 + 2\", \"answer\": \"3\"}"


class FileFormatError(ValueError):
    """A file that cannot be read as what it should be; the message names it, the place and the fix."""


def _raw(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError) as exc:  # gzip raises EOFError on a cut-off file
        raise FileFormatError(f"{path}: cannot read it ({exc}); check the path and that the file is complete") from None


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every row of a JSONL file (``.gz`` too); blank lines are skipped.

    Raises :class:`FileFormatError` for a file without rows, bytes that are not UTF-8 (with the
    byte offset), and a line that is not a JSON object (with the line number).
    """
    path = Path(path)
    rows, offset = [], 0
    for number, line in enumerate(_raw(path).splitlines(keepends=True), 1):
        start, offset = offset, offset + len(line)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                f"{path}: byte {start + exc.start} (line {number}) is not UTF-8 (0x{line[exc.start]:02x}); "
                "save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 IN > OUT") from None
        if not text.strip():
            continue
        try:
            row = json.loads(text.rstrip())  # so a cut-off line reports its own last column
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"{path}:{number}: line {number} is not valid JSON ({exc.msg}, column {exc.colno}); "
                                  f"fix or remove it: {_JSONL_FIX}") from None
        if not isinstance(row, dict):
            raise FileFormatError(f"{path}:{number}: line {number} is a JSON {type(row).__name__}, not an object; "
                                  f"{_JSONL_FIX}")
        rows.append(row)
    if not rows:
        raise FileFormatError(f"{path}: the file is empty (no JSON lines); {_JSONL_FIX}, or point task.path elsewhere")
    return rows


def read_json(path: str | Path, *, fix: str) -> Any:
    """A JSON file the run wrote itself (atomically, so a damaged one was cut off by a copy or a disk).

    ``fix`` says what to do when it is not JSON.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: truncated or not JSON ({exc}); {fix}") from None
