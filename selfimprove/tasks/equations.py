"""Procedural linear equations: ``Solve for x: 3x + 5 = 20`` with an integer solution.

The reference is the solution as a string; the math verifier checks it with sympy (so ``x = 5``
and ``5`` both count). Disjoint splits as in :mod:`selfimprove.tasks.arithmetic`.
"""

from __future__ import annotations

import random

from selfimprove.tasks.base import Problem, TaskError


def _format(a: int, b: int, c: int) -> str:
    coef = {1: "", -1: "-"}.get(a, str(a))
    if b == 0:
        return f"{coef}x = {c}"
    sign = "+" if b > 0 else "-"
    return f"{coef}x {sign} {abs(b)} = {c}"


def generate(digits: int, num_train: int, num_test: int, seed: int) -> dict[str, list[Problem]]:
    if digits < 1:
        raise TaskError(f"task.digits must be >= 1, got {digits}")
    top = 10**digits - 1
    rng = random.Random(f"equations/{seed}/{digits}")
    seen: set[tuple[int, int, int]] = set()
    problems: list[Problem] = []
    attempts = 0
    while len(problems) < num_train + num_test and attempts < 100 * (num_train + num_test):
        attempts += 1
        a = rng.choice([k for k in range(-top, top + 1) if k != 0])
        x, b = rng.randint(-top, top), rng.randint(-top, top)
        if (a, b, x) in seen:
            continue
        seen.add((a, b, x))
        problems.append(Problem(
            id=f"eq-{a}x{b:+d}={a * x + b}", prompt=f"Solve for x: {_format(a, b, a * x + b)}",
            reference=str(x), task="equations",
        ))
    test = problems[:num_test]
    return {"test": test, "train": problems[num_test:]}
