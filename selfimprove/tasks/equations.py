"""Procedural linear equations: ``Solve for x: 3x + 5 = 20`` with an integer solution.

The reference is the solution as a string; the math verifier checks it with sympy (so ``x = 5``
and ``5`` both count).

Splits are leakage-free up to equivalent rewrites: ``ax + b = c`` is keyed by (a, b, c) divided by
their gcd and signed so that a > 0, so ``2x + 4 = 10``, ``x + 2 = 5`` and ``-x - 2 = -5`` are one
problem, drawn at most once; the first ``num_test`` go to test, the rest to train, and
:func:`~selfimprove.tasks.base.head_split` checks that no key is in both (as in
:mod:`selfimprove.tasks.arithmetic`). Equations that only share their solution (``3x + 5 = 20`` and
``3x + 2 = 17``) stay different problems: any two linear equations with the same solution can be
rewritten into each other, so keying by that would leave only 2 * 10^digits - 1 problems.
"""

from __future__ import annotations

import math
import random

from selfimprove.tasks.base import Problem, TaskError, draw_distinct, head_split


def _format(a: int, b: int, c: int) -> str:
    coef = {1: "", -1: "-"}.get(a, str(a))
    if b == 0:
        return f"{coef}x = {c}"
    sign = "+" if b > 0 else "-"
    return f"{coef}x {sign} {abs(b)} = {c}"


def canonical_key(a: int, b: int, c: int) -> str:
    """One key per equation up to scaling both sides (by any non-zero factor, -1 included)."""
    g = math.gcd(a, b, c)  # a != 0, so g > 0
    a, b, c = (v // g for v in (a, b, c))
    if a < 0:
        a, b, c = -a, -b, -c
    return f"eq:{a}x{b:+d}={c}"


def generate(digits: int, num_train: int, num_test: int, seed: int) -> dict[str, list[Problem]]:
    if digits < 1:
        raise TaskError(f"task.digits must be >= 1, got {digits}")
    top = 10**digits - 1
    coefficients = [k for k in range(-top, top + 1) if k != 0]
    rng = random.Random(f"equations/{seed}/{digits}")

    def draw() -> Problem:
        a = rng.choice(coefficients)
        x, b = rng.randint(-top, top), rng.randint(-top, top)
        c = a * x + b
        return Problem(id=f"eq-{a}x{b:+d}={c}", prompt=f"Solve for x: {_format(a, b, c)}", reference=str(x),
                       task="equations", key=canonical_key(a, b, c))

    want = num_train + num_test
    problems = draw_distinct(draw, want, max_draws=100 * want)
    return head_split(problems, num_test)
