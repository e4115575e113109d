"""The ``code`` verifier: grading, statuses, feedback, extraction, registry, threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from verifiers.base import Status
from verifiers.code import CodeVerifier, SandboxError
from verifiers.code.extract import extract_code
from verifiers.registry import build_verifier


@pytest.fixture(scope="module")
def verifier():
    v = build_verifier("code", workers=2, timeout_s=2.0)
    yield v
    v.close()


ADD = "def add(a, b):\n    return a + b\n"


def test_registry_builds_an_isolated_verifier(verifier):
    assert isinstance(verifier, CodeVerifier)
    assert (verifier.name, verifier.isolated) == ("code", True) and verifier.version
    with pytest.raises(TypeError, match="bad options"):
        build_verifier("code", no_such_option=1)
    with pytest.raises(ValueError, match="isolation level"):
        CodeVerifier(allow_weaker_isolation="chroot")


def test_all_pass_partial_and_feedback(verifier):
    ok = verifier(ADD, "assert add(1, 2) == 3\nassert add(-1, 1) == 0\n")
    assert ok.status is Status.CORRECT and ok.score == 1.0 and ok.feedback == "all 2 tests passed"
    partial = verifier("def add(a, b):\n    return a * b\n",
                       "assert add(2, 2) == 4\nassert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(3, 3) == 6\n")
    assert partial.status is Status.WRONG and partial.score == 0.5
    assert "2/4 tests passed" in partial.feedback
    assert "assert add(1, 2) == 3" in partial.feedback and "left side is 2" in partial.feedback
    assert [t["passed"] for t in partial.details["tests"]] == [True, False, True, False]


def test_humaneval_style_check_with_entry_point(verifier):
    tests = ("METADATA = {}\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n"
             "    for i in range(5):\n        assert candidate(i, i) == 2 * i\n")
    result = verifier(ADD, tests, entry_point="add")
    assert result.correct and result.details["total"] == 2
    missing = verifier("def plus(a, b):\n    return a + b\n", tests, entry_point="add")
    assert missing.status is Status.WRONG and "add" in missing.feedback


def test_builtin_exceptions_cross_the_boundary(verifier):
    program = "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n"
    tests = "try:\n    root(-1)\n    assert False\nexcept ValueError:\n    pass\nassert root(4) == 2.0\n"
    assert verifier(program, tests).correct


def test_load_error_and_runtime_error_are_wrong_with_the_reason(verifier):
    syntax = verifier("def add(a, b)\n    return a + b\n", "assert add(1, 2) == 3\n")
    assert syntax.status is Status.WRONG and "SyntaxError" in syntax.feedback
    raising = verifier("def add(a, b):\n    return a / 0\n", "assert add(1, 2) == 3\n")
    assert raising.status is Status.WRONG and "ZeroDivisionError" in raising.feedback


def test_slow_program_is_wrong_not_timeout(verifier):
    result = verifier("def add(a, b):\n    while True:\n        pass\n", "assert add(1, 2) == 3\n")
    assert result.status is Status.WRONG and "2s time limit" in result.feedback


def test_stdio_cases(verifier):
    program = "a, b = map(int, input().split())\nprint(a + b)\n"
    cases = [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5", "output": "10"}]
    assert verifier(program, cases).correct
    wrong = verifier("print(42)", cases)
    assert wrong.status is Status.WRONG and wrong.score == 0.0
    assert "expected output '3\\n', got '42\\n'" in wrong.feedback
    crash = verifier("raise SystemExit(3)", cases)
    assert "exit status 3" in crash.feedback


def test_invalid_inputs(verifier):
    assert verifier("", "assert True\n").status is Status.INVALID
    assert verifier(ADD, "assert add(1, 2 == 3\n").status is Status.INVALID
    assert verifier(ADD, "x = 1\n").status is Status.INVALID  # no assert: nothing to grade
    assert verifier(ADD, 42).status is Status.INVALID
    assert verifier(ADD, [{"input": "1"}]).status is Status.INVALID


def test_sandbox_failure_is_an_error_status(verifier, monkeypatch):
    def broken(*args, **kwargs):
        raise SandboxError("worker died twice")
    monkeypatch.setattr(verifier.sandbox, "run_tests", broken)
    result = verifier(ADD, "assert add(1, 2) == 3\n")
    assert result.status is Status.ERROR and "worker died twice" in result.feedback


def test_extraction_from_markdown():
    text = ("Here you go:\n```python\nprint('example')\n```\nand the solution:\n"
            "```python\ndef add(a, b):\n    return a + b\n```\nDone.")
    assert extract_code(text, "add") == ADD
    assert extract_code(text) == ADD
    assert extract_code("```py\nx = 1\n") == "x = 1\n"  # unterminated fence
    assert extract_code("```js\nlet x\n```\nx = 2") == "```js\nlet x\n```\nx = 2"
    assert extract_code("   \n") is None


def test_concurrent_calls_from_threads(verifier):
    programs = [f"def f():\n    return {i}\n" for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: verifier(programs[i], f"assert f() == {i}\n"), range(12)))
    assert all(r.correct for r in results)
    assert threading.active_count() < 20


def test_prefetched_calls_keep_order_and_partial_credit(verifier):
    # Literal-argument calls are prefetched in one batch: a stateful solution still sees them
    # in test order, and a call that hangs leaves the earlier verdicts intact.
    counter = "n = 0\ndef tick(x):\n    global n\n    n += 1\n    return (n, x)\n"
    assert verifier(counter, "assert tick('a') == (1, 'a')\nassert tick('b') == (2, 'b')\n").correct
    hang = "def f(x):\n    while x == 2:\n        pass\n    return x\n"
    result = verifier(hang, "assert f(1) == 1\nassert f(2) == 2\nassert f(3) == 3\n")
    assert result.status is Status.WRONG and result.details["passed"] == 1
    assert "time limit" in result.feedback


CHECK_SUITE = "def check(candidate):\n    for i in range(50):\n        assert candidate(i) == i + 1\n"


@pytest.mark.parametrize("call", ["check(inc)\n", "if __name__ == '__main__':\n    check(inc)\n"])
def test_a_called_test_function_is_the_test_not_its_definition(verifier, call):
    """Regression: `def check` (asserts inside) counted as a passing test and the `check(inc)`
    call as setup whose failure was not scored, so a wrong solution got full credit."""
    right = verifier("def inc(x):\n    return x + 1\n", CHECK_SUITE + call)
    wrong = verifier("def inc(x):\n    return x + 2\n", CHECK_SUITE + call)
    assert right.status is Status.CORRECT and right.details["total"] == 1
    assert wrong.status is Status.WRONG and wrong.score == 0.0 and "left side is 2" in wrong.feedback


def test_a_test_function_that_is_never_called_is_ungradeable(verifier):
    result = verifier("def inc(x):\n    return x + 1\n", CHECK_SUITE)
    assert result.status is Status.INVALID and "never calls it" in result.feedback


def test_programs_import_installed_packages_and_unpreloaded_stdlib(verifier):
    # The worker runs with `python -S`; installed packages must stay importable, and numeric
    # libraries must not fail for want of threads (the jail sets their thread counts to 1).
    assert verifier("import hashlib, dataclasses\ndef f():\n    return hashlib.sha256(b'').hexdigest()[:4]\n",
                    "assert f() == 'e3b0'\n").correct
    pytest.importorskip("numpy")
    result = verifier("import numpy as np\ndef f():\n    return int(np.arange(5).sum())\n", "assert f() == 10\n")
    assert result.correct, result.feedback


def test_stdio_programs_may_end_with_exit(verifier):
    # The worker runs `python -S`; exit() and quit() (site's) must still exist.
    result = verifier("print(int(input()) * 2)\nexit()\n", [{"input": "3", "output": "6"}])
    assert result.correct, result.feedback


def test_verdicts_recorded_before_test_code_exits_are_kept(verifier):
    # Verdicts are written in batches; trusted test code ending with sys.exit() must not
    # lose the ones already recorded.
    result = verifier("def f(x):\n    return x\n", "assert f(1) == 1\nassert f(2) == 2\nimport sys\nsys.exit(0)\n")
    assert result.correct and result.details["passed"] == 2, result.feedback
