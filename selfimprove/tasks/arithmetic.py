"""Procedural arithmetic: ``What is 7 + 5?`` with operands of a chosen number of digits.

Splits are disjoint by construction: problems are drawn without replacement from one seeded
stream, the first ``num_test`` go to test, the rest to train. The test split therefore depends
only on (seed, ops, digits, num_test), not on ``num_train``.
"""

from __future__ import annotations

import logging
import random

from selfimprove.tasks.base import Problem, TaskError

log = logging.getLogger(__name__)

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _operand_range(digits: int) -> tuple[int, int]:
    return (0, 9) if digits == 1 else (10 ** (digits - 1), 10**digits - 1)


def generate(ops: list[str], digits: int, num_train: int, num_test: int, seed: int) -> dict[str, list[Problem]]:
    unknown = [op for op in ops if op not in OPS]
    if unknown or not ops:
        raise TaskError(f"task.ops: unknown operator(s) {unknown or ops}; choose from {list(OPS)}")
    if digits < 1:
        raise TaskError(f"task.digits must be >= 1, got {digits}")
    lo, hi = _operand_range(digits)
    n = hi - lo + 1
    # '-' swaps operands to keep answers non-negative, so it has only n(n+1)/2 distinct problems
    space = sum(n * (n + 1) // 2 if op == "-" else n * n for op in set(ops))
    want = num_train + num_test
    if want > space:
        log.warning("arithmetic: only %d distinct problems for ops=%s digits=%d; asked for %d", space, ops, digits, want)
        want = space
    rng = random.Random(f"arithmetic/{seed}/{''.join(ops)}/{digits}")
    seen: set[tuple[int, str, int]] = set()
    problems: list[Problem] = []
    while len(problems) < want:
        a, op, b = rng.randint(lo, hi), rng.choice(sorted(set(ops))), rng.randint(lo, hi)
        if op == "-" and b > a:
            a, b = b, a  # keep answers non-negative
        if (a, op, b) in seen:
            continue
        seen.add((a, op, b))
        problems.append(Problem(
            id=f"arith-{a}{op}{b}", prompt=f"What is {a} {op} {b}?", reference=str(OPS[op](a, b)), task="arithmetic",
        ))
    test = problems[: min(num_test, len(problems))]
    return {"test": test, "train": problems[len(test):]}
