"""Every GSM8K test gold verifies against itself and its reformatted variants.

Reads ``../shared/data/gsm8k/test.jsonl`` next to the repository; skipped when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifiers.math import MathVerifier

DATA = Path(__file__).resolve().parents[2] / "../shared/data/gsm8k/test.jsonl"

pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not found")


def _solutions() -> list[str]:
    return [json.loads(line)["answer"] for line in DATA.read_text().splitlines() if line.strip()]


def _variants(gold: str) -> list[str]:
    value = int(gold.replace(",", ""))
    return [
        gold, f"{value}", f"{value:,}", f"${value}", f"${value:,}", f"{value}.0", f"{value}.00",
        f"\\boxed{{{value}}}", f"#### {value:,}", f"The answer is ${value:,}.", f"so it is {value}.",
        f"The final answer is \\boxed{{\\${value:,}}}",
    ]


def test_every_gold_verifies_against_itself_and_its_variants() -> None:
    verifier = MathVerifier()
    failures = []
    solutions = _solutions()
    assert len(solutions) == 1319
    for solution in solutions:
        gold = solution.rsplit("####", 1)[1].strip()
        for reference in (solution, gold):  # the full solution and the bare answer as references
            for completion in [solution] + _variants(gold):
                result = verifier(completion, reference)
                if not result.correct:
                    failures.append((completion[-40:], reference[-20:], result.status.value, result.feedback))
    assert not failures, f"{len(failures)} failures, e.g. {failures[:5]}"


def test_off_by_one_is_wrong() -> None:
    verifier = MathVerifier()
    for solution in _solutions()[:200]:
        value = int(solution.rsplit("####", 1)[1].strip().replace(",", ""))
        assert not verifier(f"\\boxed{{{value + 1}}}", solution).correct
        assert not verifier(f"The answer is {value}.5", solution).correct
