"""``selfimprove verify``: the stable batch interface to every verifier (JSONL in, JSONL out)."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

from selfimprove.atomic import write_text
from selfimprove.config import VerifierConfig
from verifiers.runtime import VerifyItem

RESULT_KEYS = ("status", "score", "extracted", "feedback")


class VerifyInputError(ValueError):
    pass


def read_items(path: str) -> list[dict[str, Any]]:
    """Parse and check every line first, so bad input fails before any work (and loses nothing)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise VerifyInputError(f"cannot read {path}: {exc.strerror}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VerifyInputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise VerifyInputError(f"{path}:{number}: each line must be a JSON object")
        missing = [k for k in ("completion", "reference") if k not in row]
        if missing:
            raise VerifyInputError(f"{path}:{number}: missing key(s) {missing}; each line needs 'completion' and 'reference'")
        if not isinstance(row["completion"], str):
            raise VerifyInputError(f"{path}:{number}: 'completion' must be a string")
        rows.append(row)
    return rows


def run_verify(verifier: VerifierConfig, input_path: str, output_path: str) -> int:
    rows = read_items(input_path)
    items = [
        VerifyItem(r["completion"], r["reference"], {k: v for k, v in r.items() if k not in ("completion", "reference", *RESULT_KEYS)})
        for r in rows
    ]
    with verifier.runtime() as runtime:
        results = runtime.verify_batch(items, progress=True)
        identity = runtime.identity
    counts: collections.Counter[str] = collections.Counter()
    lines = []
    for row, result in zip(rows, results):
        out = dict(row)
        out.update({k: result.to_dict()[k] for k in RESULT_KEYS})
        counts[result.status.value] += 1
        lines.append(json.dumps(out, ensure_ascii=False))
    write_text(Path(output_path), "".join(line + "\n" for line in lines))
    summary = ", ".join(f"{s}={counts.get(s, 0)}" for s in ("correct", "wrong", "invalid", "error", "timeout"))
    print(f"{identity}: {len(rows)} graded -> {output_path}\n  {summary}")
    return 0
