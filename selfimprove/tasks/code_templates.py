"""The templates of the procedural code family (:mod:`selfimprove.tasks.code`).

A template is a one-function problem with a parameter ``p`` in its name, statement and solution:
``add_{p}(x: int) -> int`` "returns `x` plus {p}" has the instances ``add_1``, ``add_2``, ...
Each template says how to draw arguments for its tests (``draw``, given the parameter) and which
arguments are always tested (``edges``: empty lists and strings, zero, a single element).

The templates are kept small enough that SmolLM2-135M-Instruct solves some of them (so there is
something to reinforce) and varied enough that it fails many (so there is something to learn):
one-liners on integers, lists and strings, several phrasings, a few with a trap (counting with
``sum(x for ...)`` sums instead of counting). ``HELD_OUT_TEMPLATES`` are never trained on: they
make the *template* split.

To add a template: append a :class:`Template` to ``TEMPLATES``; its instances' function names
must be new (a test checks names are unique and every instance's tests pin its parameter).
"""

from __future__ import annotations

import dataclasses
import random
import string
from typing import Any, Callable


@dataclasses.dataclass(frozen=True)
class Template:
    name: str  # function name with {p}; also the template's identity
    signature: str  # parameters and return annotation
    statement: str  # what the function must do, with {p}
    solution: str  # the reference body (one or more lines), with {p}
    params: tuple  # parameter values; every value gives one problem
    draw: Callable[[random.Random, Any], tuple]  # one random argument tuple for parameter p
    edges: tuple[tuple, ...] = ()  # argument tuples tested for every parameter

    def function(self, p: Any) -> str:
        return self.name.format(p=p)

    def source(self, p: Any) -> str:
        body = "\n    ".join(self.solution.format(p=p).splitlines())
        return f"def {self.function(p)}{self.signature}:\n    {body}\n"


def _int(lo: int = -50, hi: int = 100) -> Callable[[random.Random, Any], tuple]:
    return lambda r, p: (r.randint(lo, hi),)


def _list(lo: int = -20, hi: int = 50, longest: int = 10) -> Callable[[random.Random, Any], tuple]:
    return lambda r, p: ([r.randint(lo, hi) for _ in range(r.randint(1, longest))],)


def _near(r: random.Random, p: int) -> tuple:
    """Lists around ``p`` (so "greater than p" and "equal to p" cases both occur)."""
    return ([r.randint(p - 6, p + 6) for _ in range(r.randint(1, 8))],)


def _near_and_far(r: random.Random, p: int) -> tuple:
    """Lists around ``p`` with numbers from further away mixed in (so counting ``p`` differs from
    counting, say, the multiples of a divisor of ``p``, which near ``p`` often coincide)."""
    return ([r.randint(p - 6, p + 6) if r.random() < 0.6 else r.randint(-20, 60) for _ in range(r.randint(1, 10))],)


def _longer_than(r: random.Random, p: int) -> tuple:
    """Lists up to a few elements longer than ``p`` (so taking the first/last p elements matters)."""
    return ([r.randint(-9, 30) for _ in range(r.randint(1, p + 4))],)


def _word(r: random.Random, p: Any = None) -> tuple:
    pool = "abcdexyz" + (p if isinstance(p, str) else "") * 3
    return ("".join(r.choice(pool) for _ in range(r.randint(1, 12))),)


def _letters(r: random.Random, p: str) -> tuple:
    """Words that contain the letter ``p`` about half of the time."""
    pool = r.choice(["abcdexyz", "mnopqrstu"]) + (p * 2 if r.random() < 0.6 else "")
    word = "".join(r.choice(pool) for _ in range(r.randint(1, 10)))
    return (word if r.random() < 0.6 else word.replace(p, ""),)


def _multiples(r: random.Random, p: int) -> tuple:
    return (p * r.randint(0, 12) + (0 if r.random() < 0.5 else r.randint(1, p - 1)),)


INTS = ((0,), (-7,))
NATURALS = ((0,), (1,))
LISTS = (([],), ([5],))
STRINGS = (("",), ("a",))
LETTERS = tuple(string.ascii_lowercase)

TEMPLATES: tuple[Template, ...] = (
    # -- integers --
    Template("add_{p}", "(x: int) -> int", "returns `x` plus {p}", "return x + {p}", tuple(range(1, 41)),
             _int(), INTS),
    Template("subtract_{p}", "(x: int) -> int", "returns `x` minus {p}", "return x - {p}", tuple(range(1, 41)),
             _int(), INTS),
    Template("multiply_by_{p}", "(x: int) -> int", "returns `x` multiplied by {p}", "return x * {p}",
             tuple(range(2, 31)), _int(), INTS),
    Template("power_{p}", "(x: int) -> int", "returns `x` raised to the power {p}", "return x ** {p}",
             tuple(range(2, 9)), _int(-9, 9), ((0,), (2,), (-3,))),
    Template("remainder_{p}", "(x: int) -> int",
             "returns the remainder when the non-negative integer `x` is divided by {p}", "return x % {p}",
             tuple(range(2, 31)), _int(0, 300), NATURALS),
    Template("floor_divide_{p}", "(x: int) -> int",
             "returns the non-negative integer `x` divided by {p}, rounded down", "return x // {p}",
             tuple(range(2, 31)), _int(0, 300), NATURALS),
    Template("is_multiple_of_{p}", "(x: int) -> bool",
             "returns True when the non-negative integer `x` is divisible by {p}, else False",
             "return x % {p} == 0", tuple(range(2, 26)), _multiples, NATURALS),
    Template("is_greater_than_{p}", "(x: int) -> bool", "returns True when `x` is greater than {p}, else False",
             "return x > {p}", tuple(range(0, 41)), lambda r, p: (r.randint(p - 10, p + 10),), ((0,), (-5,))),
    Template("distance_to_{p}", "(x: int) -> int", "returns the absolute difference between `x` and {p}",
             "return abs(x - {p})", tuple(range(0, 41)), _int(-30, 80), INTS),
    Template("max_with_{p}", "(x: int) -> int", "returns the larger of `x` and {p}", "return max(x, {p})",
             tuple(range(0, 41)), lambda r, p: (r.randint(p - 20, p + 20),), INTS),
    Template("square_plus_{p}", "(x: int) -> int", "returns `x` squared plus {p}", "return x * x + {p}",
             tuple(range(1, 31)), _int(-20, 20), INTS),
    Template("sum_first_multiples_of_{p}", "(n: int) -> int",
             "returns the sum of the first `n` positive multiples of {p} (0 when n is 0)",
             "return {p} * n * (n + 1) // 2", tuple(range(2, 31)), _int(2, 60), NATURALS),
    Template("sum_digits_above_{p}", "(n: int) -> int",
             "returns the sum of the decimal digits of the non-negative integer `n` that are greater than {p}",
             "return sum(int(d) for d in str(n) if int(d) > {p})", tuple(range(0, 9)),
             lambda r, p: (r.randint(0, 10 ** r.randint(2, 9)),), NATURALS),
    # -- lists of integers --
    Template("count_greater_than_{p}", "(nums: list[int]) -> int",
             "returns how many numbers in `nums` are greater than {p}", "return sum(1 for x in nums if x > {p})",
             tuple(range(0, 41)), _near, LISTS),
    Template("keep_greater_than_{p}", "(nums: list[int]) -> list[int]",
             "returns the numbers in `nums` that are greater than {p}, in their original order",
             "return [x for x in nums if x > {p}]", tuple(range(0, 41)), _near, LISTS),
    Template("count_equal_to_{p}", "(nums: list[int]) -> int", "returns how many times {p} occurs in `nums`",
             "return nums.count({p})", tuple(range(0, 31)), _near_and_far, LISTS),
    Template("times_{p}", "(nums: list[int]) -> list[int]",
             "returns a new list with every number in `nums` multiplied by {p}", "return [x * {p} for x in nums]",
             tuple(range(2, 21)), _list(), LISTS),
    Template("add_{p}_to_each", "(nums: list[int]) -> list[int]",
             "returns a new list with {p} added to every number in `nums`", "return [x + {p} for x in nums]",
             tuple(range(1, 31)), _list(), LISTS),
    Template("sum_plus_{p}", "(nums: list[int]) -> int", "returns the sum of the numbers in `nums` plus {p}",
             "return sum(nums) + {p}", tuple(range(1, 31)), _list(), LISTS),
    Template("sum_divisible_by_{p}", "(nums: list[int]) -> int",
             "returns the sum of the numbers in `nums` that are divisible by {p}",
             "return sum(x for x in nums if x % {p} == 0)", tuple(range(2, 16)), _list(-20, 50, 12), LISTS),
    Template("count_multiples_of_{p}", "(nums: list[int]) -> int",
             "returns how many numbers in `nums` are divisible by {p}", "return sum(1 for x in nums if x % {p} == 0)",
             tuple(range(2, 16)), _list(-20, 50, 12), LISTS),
    Template("first_{p}", "(nums: list[int]) -> list[int]",
             "returns the first {p} elements of `nums` (the whole list if it is shorter)", "return nums[:{p}]",
             tuple(range(1, 11)), _longer_than, LISTS),
    Template("last_{p}_reversed", "(nums: list[int]) -> list[int]",
             "returns the last {p} elements of `nums` in reverse order (all of them, reversed, if there are fewer)",
             "return nums[::-1][:{p}]", tuple(range(1, 11)), _longer_than, LISTS),
    Template("rotate_left_{p}", "(nums: list[int]) -> list[int]",
             "returns `nums` rotated left by {p} positions (wrapping around; an empty list stays empty)",
             "k = {p} % len(nums) if nums else 0\nreturn nums[k:] + nums[:k]", tuple(range(1, 10)),
             _longer_than, LISTS),
    Template("clamp_{p}", "(nums: list[int]) -> list[int]",
             "returns `nums` with every value clamped to the range [-{p}, {p}]",
             "return [max(-{p}, min({p}, x)) for x in nums]", tuple(range(1, 31)),
             lambda r, p: ([r.randint(-p - 5, p + 5) for _ in range(r.randint(1, 8))],), LISTS),
    # -- strings --
    Template("repeat_string_{p}", "(s: str) -> str", "returns `s` repeated {p} times", "return s * {p}",
             tuple(range(2, 10)), _word, STRINGS),
    Template("repeat_chars_{p}", "(s: str) -> str",
             "returns `s` with every character repeated {p} times (\"ab\" -> \"a...ab...b\")",
             "return ''.join(c * {p} for c in s)", tuple(range(2, 8)), _word, STRINGS),
    Template("first_{p}_chars", "(s: str) -> str",
             "returns the first {p} characters of `s` (all of `s` if it is shorter)", "return s[:{p}]",
             tuple(range(1, 13)), lambda r, p: ("".join(r.choice("abcxyz") for _ in range(r.randint(1, p + 4))),),
             STRINGS),
    Template("last_{p}_chars", "(s: str) -> str",
             "returns the last {p} characters of `s` (all of `s` if it is shorter)", "return s[-{p}:]",
             tuple(range(1, 13)), lambda r, p: ("".join(r.choice("abcxyz") for _ in range(r.randint(1, p + 4))),),
             STRINGS),
    Template("count_letter_{p}", "(s: str) -> int", "returns how many times the letter '{p}' occurs in `s`",
             "return s.count('{p}')", LETTERS, _letters, STRINGS),
    Template("contains_letter_{p}", "(s: str) -> bool",
             "returns True when the letter '{p}' occurs in `s`, else False", "return '{p}' in s", LETTERS,
             _letters, STRINGS),
    Template("remove_letter_{p}", "(s: str) -> str", "returns `s` with every letter '{p}' removed",
             "return s.replace('{p}', '')", LETTERS, _letters, STRINGS),
    Template("starts_with_{p}", "(s: str) -> bool",
             "returns True when `s` starts with the letter '{p}', else False", "return s.startswith('{p}')",
             LETTERS, lambda r, p: ((p if r.random() < 0.5 else "") + _letters(r, p)[0],), STRINGS),
)

#: Templates never trained on: the *template* split (whole templates the policy has not seen).
#: One or two of each kind (integers, lists, strings), easy and hard ones.
HELD_OUT_TEMPLATES = frozenset({
    "subtract_{p}", "max_with_{p}", "sum_digits_above_{p}", "add_{p}_to_each", "count_equal_to_{p}",
    "rotate_left_{p}", "last_{p}_chars", "remove_letter_{p}",
})
