"""Procedural arithmetic: ``What is 7 + 5?`` with operands of a chosen number of digits.

``digits`` is one number (both operands) or two (``[2, 1]``: a 2-digit and a 1-digit operand,
shown in random order for ``+`` and ``*``; ``-`` puts the larger first so answers stay
non-negative). "1-digit" operands are 0-9, "d-digit" ones 10^(d-1) to 10^d - 1.

Splits are leakage-free up to commutativity: a problem's key is its operator and operands with
the operands sorted for ``+`` and ``*``, so ``8 + 5`` and ``5 + 8`` are one problem, drawn at
most once (:func:`selfimprove.tasks.base.draw_distinct`). Problems come from one seeded stream;
the first ``num_test`` go to test, the rest to train, and :func:`~selfimprove.tasks.base.head_split`
checks that no key is in both. The test split depends only on (seed, ops, digits, num_test).

Small families are small: 1-digit ``+`` has 55 distinct problems (100 ordered ones), too few for
an honest held-out claim next to a few dozen train problems; asking for more than a family holds
returns all of it, test first.
"""

from __future__ import annotations

import logging
import random
from typing import Sequence

from selfimprove.tasks.base import Problem, TaskError, draw_distinct, head_split

log = logging.getLogger(__name__)

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
COMMUTATIVE = frozenset("+*")


def _operand_range(digits: int) -> tuple[int, int]:
    return (0, 9) if digits == 1 else (10 ** (digits - 1), 10**digits - 1)


def canonical_key(a: int, op: str, b: int) -> str:
    """One key per problem up to rewriting: operands sorted for commutative operators."""
    if op in COMMUTATIVE:
        a, b = sorted((a, b))
    return f"arith:{a}{op}{b}"


def _digit_pair(digits: int | Sequence[int]) -> tuple[int, int]:
    pair = (digits, digits) if isinstance(digits, int) else tuple(digits)
    if len(pair) != 2 or any(not isinstance(d, int) or d < 1 for d in pair):
        raise TaskError(f"task.digits / task.operand_digits: digits per operand must be >= 1 "
                        f"(one number, or two such as [2, 1]), got {digits!r}")
    return pair  # type: ignore[return-value]


def family_size(ops: Sequence[str], digits: int | Sequence[int]) -> int:
    """Distinct problems (up to commutativity) of a family."""
    (lo1, hi1), (lo2, hi2) = map(_operand_range, _digit_pair(digits))
    n1, n2 = hi1 - lo1 + 1, hi2 - lo2 + 1
    # equal ranges: unordered pairs (for '-', the larger goes first); different digits: disjoint ranges
    per_op = n1 * (n1 + 1) // 2 if (lo1, hi1) == (lo2, hi2) else n1 * n2
    return per_op * len(set(ops))


def generate(ops: list[str], digits: int | Sequence[int], num_train: int, num_test: int,
             seed: int) -> dict[str, list[Problem]]:
    unknown = [op for op in ops if op not in OPS]
    if unknown or not ops:
        raise TaskError(f"task.ops: unknown operator(s) {unknown or ops}; choose from {list(OPS)}")
    d1, d2 = _digit_pair(digits)
    (lo1, hi1), (lo2, hi2) = _operand_range(d1), _operand_range(d2)
    space = family_size(ops, (d1, d2))
    want = num_train + num_test
    if want > space:
        log.warning("arithmetic: only %d distinct problems for ops=%s digits=%s; asked for %d", space, ops,
                    [d1, d2] if d1 != d2 else d1, want)
        want = space
    # The stream name for equal digits is the one used before operand_digits existed: same splits.
    shape = str(d1) if d1 == d2 else f"{d1}x{d2}"
    rng = random.Random(f"arithmetic/{seed}/{''.join(ops)}/{shape}")
    choices = sorted(set(ops))

    def draw() -> Problem:
        a, op, b = rng.randint(lo1, hi1), rng.choice(choices), rng.randint(lo2, hi2)
        if op == "-" and b > a:
            a, b = b, a  # keep answers non-negative
        elif op in COMMUTATIVE and d1 != d2 and rng.random() < 0.5:
            a, b = b, a  # either operand first
        return Problem(id=f"arith-{a}{op}{b}", prompt=f"What is {a} {op} {b}?", reference=str(OPS[op](a, b)),
                       task="arithmetic", key=canonical_key(a, op, b))

    # Coupon collecting over the whole space needs about space * ln(space) draws; allow plenty.
    problems = draw_distinct(draw, want, max_draws=50 * space + 1000)
    return head_split(problems, num_test)
