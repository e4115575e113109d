"""The ``code`` verifier: grade a completion's program against tests in the sandbox.

``reference`` is either test code (``assert`` statements, or a HumanEval-style
``check(candidate)`` with the ``entry_point`` field) or a list of stdin/stdout cases
``[{"input": "...", "output": "..."}]``. The status is ``correct`` only when all tests (or
cases) pass; ``feedback`` names the first failing test with a truncated error, for refinement
turns. The score, which GRPO uses as the reward, is the option ``score``:

- ``fraction`` (default): the fraction of tests passed, partial credit for a program that gets
  some cases right (a denser signal for a weak policy, but it also pays for programs that
  handle the common case and miss an edge case);
- ``all_pass``: 1 when all pass, else 0 (the same verdict rft keeps; no credit for near misses).

A run stopped for time or output scores its verdicts so far under ``fraction`` and 0 under
``all_pass``.

Statuses: ``invalid`` when the reference cannot be graded or the completion holds no code;
``error`` when the sandbox itself failed (the reason is in ``feedback``). A program that is
too slow, crashes or floods output is graded ``wrong``: that is its own doing.

``isolated = True`` tells the verifier runtime this verifier already isolates and
time-limits every execution, so it may be called from threads in-process: calls block in
``select``/``read`` on the worker pipes (GIL released) and the pool is thread-safe.
"""

from __future__ import annotations

import functools
import signal
import threading
from typing import Any

from verifiers.base import Status, Verification
from verifiers.code.extract import extract_code
from verifiers.code.sandbox import Sandbox, SandboxError, SandboxUnavailable
from verifiers.code.worker.plan import TestPlanError, plan_tests

FEEDBACK_ERROR_CHARS = 600


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _exit_note(report: dict, timeout_s: float) -> str:
    """Why the program stopped, when that matters for the feedback."""
    if report.get("timed_out"):
        return f"the program was stopped after the {timeout_s:g}s time limit"
    if report.get("output_limit"):
        return "the program was stopped for printing too much output"
    sol = report.get("solution", report)
    if sol.get("signal"):
        name = _signal_name(sol["signal"])
        hint = " (CPU time limit)" if name == "SIGXCPU" else ""
        return f"the program was killed by {name}{hint}"
    return ""


@functools.lru_cache(maxsize=1024)  # as the harness's plan cache (worker/harness.py)
def _test_steps(tests: str, entry_point: str | None) -> tuple:
    """Planned once per problem: a trainer grades G samples of each problem."""
    return tuple(plan_tests(tests, entry_point))


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


class CodeVerifier:
    """Factory and verifier in one: ``CodeVerifier(**options)(completion, reference, ...)``.

    Options are those of :class:`~verifiers.code.sandbox.Sandbox` (``timeout_s``,
    ``memory_mb``, ``workers``, ``allow_weaker_isolation``, ``allow_processes``, ...) and
    ``score`` (``fraction`` or ``all_pass``, see the module docstring). The
    sandbox starts on the first call. Raises :class:`SandboxUnavailable` from that call when
    the required isolation level cannot be had (a configuration problem, not an item's).
    """

    name = "code"
    version = "1"
    isolated = True
    SCORES = ("fraction", "all_pass")

    def __init__(self, *, workers: int = 2, timeout_s: float = 10.0, memory_mb: int = 512,
                 allow_weaker_isolation: bool | str = False, allow_processes: int = 0,
                 max_output_kb: int = 1024, bwrap: str | None = None, score: str = "fraction") -> None:
        if score not in self.SCORES:
            raise ValueError(f"code verifier: option score must be one of {', '.join(self.SCORES)}, got {score!r}")
        self.score_mode = score
        if score != "fraction":  # the reward differs, so the provenance does (code@1-all_pass)
            self.version = f"{type(self).version}-{score}"
        self.timeout_s = timeout_s
        self._options = dict(workers=workers, timeout_s=timeout_s, memory_mb=memory_mb,
                             allow_weaker_isolation=allow_weaker_isolation,
                             allow_processes=int(allow_processes), max_output_kb=max_output_kb,
                             bwrap=bwrap)
        Sandbox(**self._options).close()  # validates the options now, starts nothing
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()

    @property
    def sandbox(self) -> Sandbox:
        with self._lock:
            if self._sandbox is None:
                self._sandbox = Sandbox(**self._options)
            return self._sandbox

    def close(self) -> None:
        with self._lock:
            if self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None

    def __call__(self, completion: str, reference: Any, entry_point: str | None = None,
                 prelude: str | None = None, **_unused: Any) -> Verification:
        program = extract_code(completion, entry_point)
        if program is None:
            return Verification.invalid("the completion contains no code")
        try:
            if isinstance(reference, str):
                return self._grade_tests(program, reference, entry_point, prelude)
            if isinstance(reference, (list, tuple)) and reference and all(
                    isinstance(c, dict) and "input" in c and "output" in c for c in reference):
                return self._grade_stdio(program, list(reference), prelude)
        except SandboxUnavailable:
            raise
        except SandboxError as exc:
            return Verification.error(f"code sandbox failed: {exc}")
        return Verification.invalid(
            "code reference must be test code (str) or a non-empty list of "
            f"{{'input': ..., 'output': ...}} cases, got {type(reference).__name__}")

    # -- assert / check(candidate) tests -------------------------------------------------------
    def _grade_tests(self, program: str, tests: str, entry_point: str | None,
                     prelude: str | None) -> Verification:
        try:
            steps = _test_steps(tests, entry_point)
        except TestPlanError as exc:
            return Verification.invalid(str(exc), extracted=program)
        total = sum(s.is_test for s in steps)
        report = self.sandbox.run_tests(program, tests, entry_point=entry_point, prelude=prelude)
        frames = report["results"]
        if not frames and not report["timed_out"] and not report["output_limit"]:
            # The harness never spoke: that is our failure, not the program's.
            harness = report["harness"]
            return Verification.error(f"test harness failed (exit {harness['exit']}, signal "
                                      f"{harness['signal']}); its traceback, if any, is on the "
                                      "sandbox worker's stderr")
        records = [f for f in frames if "i" in f and f.get("kind") == "test"]
        results = [{"source": r["source"], "passed": bool(r["ok"]), "error": r["error"]} for r in records]
        note = _exit_note(report, self.timeout_s)
        for step in [s for s in steps if s.is_test][len(results):]:
            results.append({"source": step.source[:500], "passed": False, "error": note or "not run"})
        passed = sum(r["passed"] for r in results)
        first_failure = next((r for r in results if not r["passed"]), None)
        if first_failure is None:
            feedback = f"all {total} tests passed" + (f", but {note}" if note else "")
        else:
            error = (first_failure["error"] or "failed")[-FEEDBACK_ERROR_CHARS:]
            feedback = (f"{passed}/{total} tests passed. First failing test:\n"
                        f"{first_failure['source'][:300]}\n{error}")
            if note and note not in error:
                feedback += f"\n({note})"
        details = {"tests": results, "passed": passed, "total": total,
                   "timed_out": report["timed_out"], "output_limit": report["output_limit"],
                   "wall_s": round(report["wall_s"], 4), "isolation": self.sandbox.isolation,
                   "stdout": report["solution"]["stdout"][:2000],
                   "stderr": report["solution"]["stderr"][-2000:]}
        # A run stopped for time or output is wrong however many verdicts came in before.
        stopped = report["timed_out"] or report["output_limit"]
        status = Status.CORRECT if passed == total and not stopped else Status.WRONG
        return Verification(self._score(passed, total, status), status, program, feedback, details)

    # -- stdin/stdout cases --------------------------------------------------------------------
    def _grade_stdio(self, program: str, cases: list[dict], prelude: str | None) -> Verification:
        if prelude:
            program = prelude + "\n" + program
        report = self.sandbox.run_stdio(program, [str(c["input"]) for c in cases])
        results, first_failure = [], None
        for case, run in zip(cases, report["runs"]):
            ok = (not run["timed_out"] and not run["output_limit"] and run["exit"] == 0
                  and _normalise(run["stdout"]) == _normalise(str(case["output"])))
            error = None
            if not ok:
                note = _exit_note(run, self.timeout_s)
                if note:
                    error = note
                elif run["exit"] != 0:
                    error = f"exit status {run['exit']}: {run['stderr'][-FEEDBACK_ERROR_CHARS:]}"
                else:
                    error = (f"expected output {str(case['output'])[:200]!r}, "
                             f"got {run['stdout'][:200]!r}")
            result = {"input": str(case["input"])[:200], "passed": ok, "error": error}
            results.append(result)
            if not ok and first_failure is None:
                first_failure = result
        passed, total = sum(r["passed"] for r in results), len(results)
        if first_failure is None:
            feedback = f"all {total} cases passed"
        else:
            feedback = (f"{passed}/{total} cases passed. First failing case, input "
                        f"{first_failure['input']!r}:\n{first_failure['error']}")
        details = {"tests": results, "passed": passed, "total": total,
                   "isolation": self.sandbox.isolation}
        status = Status.CORRECT if passed == total else Status.WRONG
        return Verification(self._score(passed, total, status), status, program, feedback, details)

    def _score(self, passed: int, total: int, status: Status) -> float:
        if self.score_mode == "all_pass":
            return 1.0 if status is Status.CORRECT else 0.0
        return passed / total
