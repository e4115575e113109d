"""Rejection sampling: which verified traces become training data.

Keeps traces whose verification is ``correct``, drops duplicates of what was already kept for
the same prompt (this round or, with ``accumulate``, any earlier round), and keeps at most
``per_prompt_cap`` per prompt and round, preferring the shortest (a check on the length growth
that repeated self-training tends to cause) or a seeded random choice.

What counts as a duplicate depends on what the completion is (:func:`dedupe_key`):

- an answer in prose (math): the text, with whitespace collapsed;
- a program (a trace of a task in ``CODE_TASKS`` or graded by the ``code`` verifier): the
  program the verifier runs (:func:`verifiers.code.extract.extract_code`), as an AST dump with
  comments, docstrings, annotations and formatting gone and local names renamed in order of
  binding (:func:`program_key`). Two samples that differ only in their explanation or in
  variable names teach the same program, so only one of them is kept. A program that does not
  parse falls back to the text.

Differs from ReST-EM / STaR: they keep every correct sample (ReST-EM caps per problem too);
dedupe and the shortest-first preference are our additions.
"""

from __future__ import annotations

import ast
import random
import re
from typing import Iterable, Sequence

from rollouts.trace import Trace
from verifiers.code.extract import extract_code

_SPACE = re.compile(r"\s+")

#: Task families whose completions are programs (see the module docstring).
CODE_TASKS = frozenset({"code", "humaneval", "mbpp"})


def normalize(text: str) -> str:
    """Text used for dedupe: whitespace collapsed, ends stripped."""
    return _SPACE.sub(" ", text).strip()


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return body[1:] or [ast.Pass()]
    return body


def program_key(program: str) -> str | None:
    """The program as an AST dump, blind to formatting, comments, docstrings, annotations and the
    names of arguments and local variables; None when it does not parse."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte in the source
        return None
    bound: dict[str, str] = {}
    for node in ast.walk(tree):  # breadth-first: equal structures bind their names in the same order
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            node.body = _strip_docstring(node.body)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        if isinstance(node, ast.arg):
            node.annotation = None
            bound.setdefault(node.arg, f"v{len(bound)}")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.setdefault(node.id, f"v{len(bound)}")
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.arg = bound[node.arg]
        elif isinstance(node, ast.Name) and node.id in bound:
            node.id = bound[node.id]
    return ast.dump(tree)


def is_program(trace: Trace) -> bool:
    """True when the completion is a program: a code task, or graded by the code verifier."""
    return trace.task in CODE_TASKS or (trace.verifier or "").split("@")[0] == "code"


def dedupe_key(trace: Trace) -> tuple[str, str]:
    # The prompt is part of the key: a refinement turn and a first attempt with equal text are
    # different training examples.
    prompt = "\x1f".join(m["content"] for m in trace.messages[1:]) if trace.turns else ""
    body = None
    if is_program(trace):
        program = extract_code(trace.completion, trace.fields.get("entry_point"))
        body = program_key(program) if program is not None else None
    return trace.problem_id, prompt + "\x1e" + (body if body is not None else normalize(trace.completion))


def select(traces: Sequence[Trace], *, cap: int, dedupe: bool = True, prefer: str = "shortest",
           seen: Iterable[tuple[str, str]] = (), seed: int = 0) -> list[bool]:
    """One flag per trace: True when it is kept for training."""
    if prefer not in ("shortest", "random"):
        raise ValueError(f"prefer must be 'shortest' or 'random', got {prefer!r}")
    rng = random.Random(seed)
    known = set(seen)
    order = list(range(len(traces)))
    rng.shuffle(order)
    if prefer == "shortest":
        order.sort(key=lambda i: traces[i].num_tokens)  # stable: ties stay in shuffled order
    kept = [False] * len(traces)
    per_prompt: dict[str, int] = {}
    for i in order:
        t = traces[i]
        if t.verification is None or not t.verification.correct:
            continue
        if per_prompt.get(t.problem_id, 0) >= cap:
            continue
        key = dedupe_key(t)
        if dedupe and key in known:
            continue
        known.add(key)
        per_prompt[t.problem_id] = per_prompt.get(t.problem_id, 0) + 1
        kept[i] = True
    return kept
