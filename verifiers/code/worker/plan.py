"""Split test code into ordered steps: *setup* statements and *tests*.

A test is a top-level statement that contains an ``assert`` (a bare ``assert``, or a loop or
``with`` block holding asserts) or calls a function the test code defines with asserts in it
(``check(f)`` after ``def check(candidate): assert ...``); every other statement (imports,
definitions, assignments) is setup, run in order. A definition is never a test, even when its
body asserts: defining a function checks nothing. With an ``entry_point`` and a HumanEval-style
``def check(candidate): ...``, the steps are the statements of ``check``'s body, run with
``candidate`` bound to the solution's ``entry_point`` function, after the module's other
statements. So ``score`` is the fraction of asserting statements that passed.

Limits: asserts hidden inside a helper function the tests call count as part of the step that
calls it; a ``return`` inside ``check`` ends the steps there.
"""

from __future__ import annotations

import ast
import dataclasses
import re


class TestPlanError(ValueError):
    """The test code cannot be planned (syntax error, no tests)."""


@dataclasses.dataclass(frozen=True)
class Step:
    kind: str  # "setup" | "test"
    source: str  # the statement's source, shown in feedback
    module: ast.Module  # ready to compile

    @property
    def is_test(self) -> bool:
        return self.kind == "test"


EQ_HELPER = "__selfimprove_assert_eq__"


class _ExplainEquality(ast.NodeTransformer):
    """``assert a == b`` becomes ``EQ_HELPER(a, b, "a == b")``: same evaluation order and
    truth test, but a failure says what the two sides were (feedback for refinement turns)."""

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        test = node.test
        if node.msg is None and isinstance(test, ast.Compare) and len(test.ops) == 1 \
                and isinstance(test.ops[0], ast.Eq):
            call = ast.Call(func=ast.Name(EQ_HELPER, ast.Load()),
                            args=[test.left, test.comparators[0], ast.Constant(ast.unparse(test))],
                            keywords=[])
            return ast.copy_location(ast.Expr(call), node)
        return node


def _has_assert(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _asserting_defs(tree: ast.Module) -> frozenset[str]:
    """Names of the module-level functions and classes whose bodies assert (test helpers)."""
    return frozenset(s.name for s in tree.body if isinstance(s, _DEFINITIONS) and _has_assert(s))


def _calls(stmt: ast.AST, names: frozenset[str]) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
               for n in ast.walk(stmt))


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")  # the tokenizer's line ends, kept


class _Source:
    """Source segments of statements. ``ast.get_source_segment`` splits the whole code again
    for every statement, quadratic in the number of tests (7 ms per HumanEval problem)."""

    def __init__(self, code: str) -> None:
        self.lines = _LINE.findall(code)

    def segment(self, node: ast.stmt) -> str | None:
        end_line, end_col = node.end_lineno, node.end_col_offset
        if end_line is None or end_col is None or end_line > len(self.lines):
            return None
        # Column offsets count UTF-8 bytes.
        lines = [line.encode() for line in self.lines[node.lineno - 1:end_line]]
        if len(lines) == 1:
            return lines[0][node.col_offset:end_col].decode(errors="replace")
        lines[0], lines[-1] = lines[0][node.col_offset:], lines[-1][:end_col]
        return b"".join(lines).decode(errors="replace")


def _step(source_of: _Source, stmt: ast.stmt, force_setup: bool = False, helpers: frozenset[str] = frozenset()) -> Step:
    asserts = _has_assert(stmt) or _calls(stmt, helpers)
    kind = "test" if asserts and not force_setup and not isinstance(stmt, _DEFINITIONS) else "setup"
    source = source_of.segment(stmt) or ast.unparse(stmt)
    if _has_assert(stmt):  # helper definitions too: their asserts fail inside a test step
        stmt = ast.fix_missing_locations(_ExplainEquality().visit(stmt))
    return Step(kind, source, ast.Module(body=[stmt], type_ignores=[]))


def _find_check(tree: ast.Module) -> ast.FunctionDef | None:
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "check" and stmt.args.args:
            return stmt
    return None


class _LiteralCalls(ast.NodeVisitor):
    """Calls ``name(<literals>)`` to plain names, in source order, outside nested scopes."""

    def __init__(self) -> None:
        self.found = []

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        if not isinstance(node.func, ast.Name):
            return
        try:
            args = tuple(ast.literal_eval(a) for a in node.args)
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return  # not literal (a starred arg or `**kw` has arg None and fails here too)
        if None not in kwargs:
            self.found.append((node.func.id, args, kwargs))

    def _skip(self, node: ast.AST) -> None:
        pass  # a nested def or lambda may never run: prefetching its calls would be guesswork

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _skip


def literal_calls(step: Step) -> list[tuple[str, tuple, dict]]:
    """The calls to plain names in ``step`` whose arguments are all literals (prefetchable once
    the caller knows which names are the solution's)."""
    visitor = _LiteralCalls()
    visitor.visit(step.module)
    return visitor.found


def plan_tests(code: str, entry_point: str | None = None) -> list[Step]:
    """Return the ordered steps of ``code``. Raises :class:`TestPlanError` if ungradeable."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise TestPlanError(f"test code does not parse: {exc}") from exc
    check = _find_check(tree) if entry_point else None
    helpers = _asserting_defs(tree)
    source_of = _Source(code)
    if check is None:
        steps = [_step(source_of, stmt, helpers=helpers) for stmt in tree.body]
    else:
        # Helper defs at module level are setup even if they assert: they only define.
        steps = [_step(source_of, stmt, force_setup=True) for stmt in tree.body if stmt is not check]
        param = check.args.args[0].arg
        bind = ast.parse(f"{param} = {entry_point}").body[0]
        steps.append(Step("setup", f"{param} = {entry_point}", ast.Module(body=[bind], type_ignores=[])))
        for stmt in check.body:
            if isinstance(stmt, ast.Return):
                break
            steps.append(_step(source_of, stmt, helpers=helpers - {check.name}))
    if not any(s.is_test for s in steps):
        hint = (" (it defines a test function but never calls it: call it, e.g. check(f), or give the "
                "entry_point field for HumanEval-style check(candidate))" if helpers else "")
        raise TestPlanError("test code runs no assert statement, so nothing can be graded" + hint)
    return steps
