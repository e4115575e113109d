"""Hostile answers: each returns within 2x the deadline and the caller's memory does not grow."""

from __future__ import annotations

import time

import pytest

from verifiers.base import Status
from verifiers.math import MathVerifier
from verifiers.runtime import VerifierRuntime, VerifyItem

DEADLINE_S = 2.0

ADVERSARIAL = {
    "power tower": "\\boxed{9^{9^{9^9}}}",
    "huge factorial": "\\boxed{(10^{10})!}",
    "deep nesting": "\\boxed{" + "(" * 10_000 + "1" + ")" * 10_000 + "}",
    "deep braces": "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "10 MB completion": "1" * 10_000_000,
    "10 MB inside a box": "\\boxed{" + "1+" * 5_000_000 + "1}",
    "symbolic power": "\\boxed{(x+1)^{10^{9}}}",
    "exponent of a tower": "\\boxed{2^{2^{2^{2^{2^{2}}}}}}",
    "million-digit literal": "\\boxed{" + "7" * 900_000 + "}",
    "long number under the length cap": "\\boxed{" + "7" * 1_990 + "}",
    "unboxed boxes": "\\boxed " * 100_000,
    "binomial": "\\boxed{\\binom{10^{12}}{10^{6}}}",
    "nested radicals": "\\boxed{" + "\\sqrt{" * 300 + "2" + "}" * 300 + "}",
    "unclosed box": "\\boxed{" * 100_000,
    "many boxes": "\\boxed{1} " * 200_000,
    "division by zero": "\\boxed{\\frac{1}{0}}",
    "plus-minus blow-up": "\\boxed{" + "\\pm 1" * 64 + "}",
}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.fixture(scope="module")
def runtime() -> VerifierRuntime:
    with VerifierRuntime("math", workers=2, deadline_s=DEADLINE_S) as rt:
        rt.verify_batch([VerifyItem("\\boxed{1}", "1")] * 2)  # workers started and warm
        yield rt


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_returns_within_twice_the_deadline(runtime: VerifierRuntime, name: str) -> None:
    start = time.monotonic()
    (result,) = runtime.verify_batch([VerifyItem(ADVERSARIAL[name], "1")])
    elapsed = time.monotonic() - start
    assert elapsed < 2 * DEADLINE_S, f"{name}: {elapsed:.1f}s"
    assert result.status in (Status.INVALID, Status.TIMEOUT, Status.WRONG, Status.ERROR), result
    assert result.status is not Status.CORRECT


def test_caller_memory_does_not_grow(runtime: VerifierRuntime) -> None:
    items = [VerifyItem(c, "1") for c in ADVERSARIAL.values()]
    runtime.verify_batch(items)
    before = _rss_mb()
    runtime.verify_batch(items)
    assert _rss_mb() - before < 50


@pytest.mark.parametrize("name", ["power tower", "huge factorial", "deep nesting", "symbolic power",
                                  "exponent of a tower", "10 MB completion", "binomial"])
def test_guards_answer_fast_in_process_too(name: str) -> None:
    start = time.monotonic()
    result = MathVerifier()(ADVERSARIAL[name], "1")
    assert result.status is Status.INVALID
    assert time.monotonic() - start < 1.0
