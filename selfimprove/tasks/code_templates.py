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

The table is data, ``code_templates.yaml`` beside this module, read once at import: per template
its ``name``, ``signature``, ``statement`` and ``solution`` as above, ``params`` (``2..30`` or
``a..z``, both ends included), ``draw`` (a name in :data:`DRAWS` and its integer arguments, e.g.
``int -9 9``) and ``edges`` (a name in :data:`EDGES`, or the argument tuples as lists).

To add a template: add an entry to ``code_templates.yaml`` (and to :data:`DRAWS` a draw its inputs
need); its instances' function names must be new (a test checks names are unique and every
instance's tests pin its parameter).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any, Callable

import yaml

Draw = Callable[[random.Random, Any], tuple]


@dataclasses.dataclass(frozen=True)
class Template:
    name: str  # function name with {p}; also the template's identity
    signature: str  # parameters and return annotation
    statement: str  # what the function must do, with {p}
    solution: str  # the reference body (one or more lines), with {p}
    params: tuple  # parameter values; every value gives one problem
    draw: Draw  # one random argument tuple for parameter p
    edges: tuple[tuple, ...] = ()  # argument tuples tested for every parameter

    def function(self, p: Any) -> str:
        return self.name.format(p=p)

    def source(self, p: Any) -> str:
        body = "\n    ".join(self.solution.format(p=p).splitlines())
        return f"def {self.function(p)}{self.signature}:\n    {body}\n"


def _int(r: random.Random, p: Any, lo: int = -50, hi: int = 100) -> tuple:
    return (r.randint(lo, hi),)


def _around(r: random.Random, p: int, width: int) -> tuple:
    """Integers within ``width`` of ``p``."""
    return (r.randint(p - width, p + width),)


def _digits(r: random.Random, p: Any) -> tuple:
    """Non-negative integers of up to 3 to 10 digits."""
    return (r.randint(0, 10 ** r.randint(2, 9)),)


def _multiples(r: random.Random, p: int) -> tuple:
    return (p * r.randint(0, 12) + (0 if r.random() < 0.5 else r.randint(1, p - 1)),)


def _list(r: random.Random, p: Any, lo: int = -20, hi: int = 50, longest: int = 10) -> tuple:
    return ([r.randint(lo, hi) for _ in range(r.randint(1, longest))],)


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


def _within(r: random.Random, p: int) -> tuple:
    """Lists of numbers from a little beyond ``[-p, p]`` (so clamping at either end matters)."""
    return ([r.randint(-p - 5, p + 5) for _ in range(r.randint(1, 8))],)


def _word(r: random.Random, p: Any = None) -> tuple:
    pool = "abcdexyz" + (p if isinstance(p, str) else "") * 3
    return ("".join(r.choice(pool) for _ in range(r.randint(1, 12))),)


def _chars_longer_than(r: random.Random, p: int) -> tuple:
    """Words up to a few characters longer than ``p``."""
    return ("".join(r.choice("abcxyz") for _ in range(r.randint(1, p + 4))),)


def _letters(r: random.Random, p: str) -> tuple:
    """Words that contain the letter ``p`` about half of the time."""
    pool = r.choice(["abcdexyz", "mnopqrstu"]) + (p * 2 if r.random() < 0.6 else "")
    word = "".join(r.choice(pool) for _ in range(r.randint(1, 10)))
    return (word if r.random() < 0.6 else word.replace(p, ""),)


def _starting_with(r: random.Random, p: str) -> tuple:
    """Words that start with the letter ``p`` about half of the time."""
    return ((p if r.random() < 0.5 else "") + _letters(r, p)[0],)


#: draw name in code_templates.yaml -> function(rng, p, *the integer arguments written after the name)
DRAWS: dict[str, Callable[..., tuple]] = {
    "int": _int, "around": _around, "digits": _digits, "multiples": _multiples, "list": _list, "near": _near,
    "near_and_far": _near_and_far, "longer_than": _longer_than, "within": _within, "word": _word,
    "chars_longer_than": _chars_longer_than, "letters": _letters, "starting_with": _starting_with,
}
#: edge-case set name in code_templates.yaml -> argument tuples
EDGES: dict[str, tuple[tuple, ...]] = {
    "ints": ((0,), (-7,)), "naturals": ((0,), (1,)), "lists": (([],), ([5],)), "strings": (("",), ("a",)),
}
_SOURCE = Path(__file__).with_name("code_templates.yaml")
_FIELDS = ("name", "signature", "statement", "solution", "params", "draw", "edges")


def _params(spec: str) -> tuple:
    """``2..30`` -> 2, 3, ..., 30; ``a..z`` -> the letters a to z."""
    first, _, last = str(spec).partition("..")
    if first.lstrip("-").isdigit() and last.lstrip("-").isdigit():
        return tuple(range(int(first), int(last) + 1))
    if len(first) == len(last) == 1 and first.isalpha() and last.isalpha():
        return tuple(map(chr, range(ord(first), ord(last) + 1)))
    raise ValueError(f"params {spec!r}: write FIRST..LAST, integers (2..30) or letters (a..z)")


def _draw(spec: str) -> Draw:
    name, *args = str(spec).split()
    if name not in DRAWS:
        raise ValueError(f"draw {spec!r}: {name!r} is not in DRAWS ({', '.join(DRAWS)}); add it there")
    draw, values = DRAWS[name], tuple(map(int, args))
    return lambda r, p: draw(r, p, *values)


def _edges(spec: str | list) -> tuple[tuple, ...]:
    if not isinstance(spec, str):
        return tuple(map(tuple, spec))
    if spec not in EDGES:
        raise ValueError(f"edges {spec!r} is not in EDGES ({', '.join(EDGES)}); add it there or list the cases")
    return EDGES[spec]


def _template(row: dict[str, Any]) -> Template:
    try:
        if sorted(row) != sorted(_FIELDS):
            raise ValueError(f"has the keys {sorted(row)}; a template has exactly {', '.join(_FIELDS)}")
        return Template(row["name"], row["signature"], row["statement"], row["solution"], _params(row["params"]),
                        _draw(row["draw"]), _edges(row["edges"]))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{_SOURCE.name}: template {row.get('name', '?')!r}: {exc}") from None


TEMPLATES: tuple[Template, ...] = tuple(map(_template, yaml.safe_load(_SOURCE.read_text())))


#: Templates never trained on: the *template* split (whole templates the policy has not seen).
#: One or two of each kind (integers, lists, strings), easy and hard ones.
HELD_OUT_TEMPLATES = frozenset({
    "subtract_{p}", "max_with_{p}", "sum_digits_above_{p}", "add_{p}_to_each", "count_equal_to_{p}",
    "rotate_left_{p}", "last_{p}_chars", "remove_letter_{p}",
})
