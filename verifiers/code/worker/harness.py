"""The trusted side: run the tests and write the only verdicts the host believes.

The harness never executes the program. Each name the program defined becomes a proxy here;
calling it sends plain-data arguments to the solution process and decodes a plain-data reply
(:mod:`.codec`). Comparisons, ``assert``\\ s and builtins all run in this process, under a uid
the program does not have, so a program cannot patch them, raise ``SystemExit`` for them, or
write a verdict: it can only return values (or fail to).
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import os
import socket
import time
import traceback
from types import CodeType

from . import codec, wire
from .channel import MAX_REPLY, Channel, Proxy, SolutionGone
from .plan import EQ_HELPER, Step, literal_calls, plan_tests

# Plans and compiled code are reused: a trainer grades G samples of each problem in a row, and
# an evaluation cycles through a whole benchmark. An LRU smaller than that cycle misses on every
# call (128 against HumanEval's 164 did), so the size covers MBPP's 500 test problems; a plan
# is a few KB of code objects.
_PLAN_CACHE = 1024


# Verdict frames are written in batches: one write per step woke the worker once per test.
# A batch goes out before the harness waits for the solution, when it is this old at the next
# step, and at the end. So only a harness killed in its own test code (hung past the time
# limit) can lose verdicts: those of the steps since its last wait, at most this recent.
_FLUSH_S = 0.02


@dataclasses.dataclass(frozen=True)
class _Plan:
    steps: tuple[Step, ...]
    code: tuple[CodeType, ...]
    # Per step: its calls with literal arguments, arguments already encoded for the channel
    # (walking the AST for them on every execution cost about 1 ms).
    calls: tuple[tuple[tuple[str, object, object], ...], ...]


def _prefetchable(step: Step) -> tuple[tuple[str, object, object], ...]:
    found = []
    for name, args, kwargs in literal_calls(step) if step.is_test else ():
        try:
            found.append((name, codec.encode(args), codec.encode(kwargs)))
        except (codec.UnsupportedValue, RecursionError):
            pass  # made as an ordinary call when the test runs
    return tuple(found)


@functools.lru_cache(maxsize=_PLAN_CACHE)
def _cached_plan(test_code: str, entry_point: str | None) -> _Plan:
    steps = tuple(plan_tests(test_code, entry_point))
    return _Plan(steps, tuple(compile(s.module, "<tests>", "exec") for s in steps),
                 tuple(_prefetchable(s) for s in steps))


class _Verdicts:
    """The verdict stream, buffered (see ``_FLUSH_S``)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.pending, self.first_pending_at = fd, [], 0.0

    def add(self, frame: dict) -> None:
        now = time.monotonic()
        if not self.pending:
            self.first_pending_at = now
        self.pending.append(wire.encode_frame(frame))
        if now - self.first_pending_at >= _FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            data = b"".join(self.pending)
            self.pending.clear()
            wire.write_all(self.fd, data)


@functools.lru_cache(maxsize=_PLAN_CACHE)
def _compiled(source: str, filename: str):
    return compile(source, filename, "exec")


def _assert_eq(left, right, source: str) -> None:
    if not (left == right):
        raise AssertionError(f"{source}: left side is {_short_repr(left)}, right side is {_short_repr(right)}")


def _short_repr(value, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _error_text(exc: BaseException, limit: int = 1500) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:limit]


def _bind_solution(channel: Channel, ns: dict, hello: object) -> None:
    """Put the solution's names into the test namespace, or mark the channel gone."""
    if not isinstance(hello, dict):
        channel.gone = channel.gone or "the solution process exited before the tests ran"
        return
    if not hello.get("loaded"):
        channel.gone = f"the program failed to load:\n{str(hello.get('error', ''))[-1500:]}"
        return
    try:
        for name, (kind, value) in dict(hello.get("names", {})).items():
            name = str(name)
            # Never let the program shadow a builtin the tests use (`len`, `sorted`, `abs`):
            # those must stay the harness's own.
            if hasattr(builtins, name):
                continue
            ns[name] = Proxy(channel, name) if kind == "callable" else codec.decode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        channel.gone = f"the solution process sent a malformed hello ({exc})"


def run(test_code: str, entry_point: str | None, prelude: str | None,
        calls: int, replies: int, results: int) -> None:
    """One execution: verdicts for ``test_code`` go to ``results``, one frame per step.

    ``prelude`` (trusted code from the dataset, e.g. HumanEval's prompt with its helpers) runs
    here too, after the solution's names are bound, so helpers the tests call (``poly``,
    ``encode_cyclic``) are the dataset's, not whatever the program redefined; only
    ``entry_point`` is taken from the program.
    """
    plan = _cached_plan(test_code, entry_point)
    steps = plan.steps
    verdicts = _Verdicts(results)
    channel = Channel(calls, replies, before_wait=verdicts.flush)
    # "__main__": test scripts guarded by `if __name__ == "__main__":` run, as they would as a script.
    ns: dict = {"__name__": "__main__", "__builtins__": builtins, EQ_HELPER: _assert_eq}
    hello = None
    try:
        hello = wire.recv(replies, MAX_REPLY)
    except wire.FrameError as exc:
        channel.gone = f"the solution process broke the protocol ({exc})"
    _bind_solution(channel, ns, hello)
    setup_error = None
    if entry_point and not channel.gone and not isinstance(ns.get(entry_point), Proxy):
        setup_error = f"the program does not define a function named {entry_point!r}"
    if prelude and not channel.gone:
        entry = ns.get(entry_point) if entry_point else None
        try:
            exec(_compiled(prelude, "<prelude>"), ns)
        except Exception as exc:  # noqa: BLE001 - reported with every test below
            setup_error = f"the task's prelude failed in the harness: {_error_text(exc)}"
        if entry_point:
            if entry is None:
                ns.pop(entry_point, None)  # the stub from the prelude must not stand in
            else:
                ns[entry_point] = entry
    # The count goes out at once: a harness killed later still says how many tests there were.
    wire.send(results, {"steps": len(steps), "tests": sum(s.is_test for s in steps)})
    try:
        _run_steps(plan, ns, channel, setup_error, verdicts)
    finally:  # test code may end the harness with SystemExit: what it recorded still goes out
        verdicts.flush()


def _run_steps(plan: _Plan, ns: dict, channel: Channel, setup_error: str | None, verdicts: _Verdicts) -> None:
    steps = plan.steps
    # Names the tests may call the solution by: its own, and aliases such as HumanEval's
    # `candidate = entry_point`.
    proxies = {name: value.__name__ for name, value in ns.items() if isinstance(value, Proxy)}
    for step in steps:
        alias, _, target = step.source.partition(" = ")
        if not step.is_test and target in proxies and alias.isidentifier():
            proxies[alias] = proxies[target]
    for index, (step, code) in enumerate(zip(steps, plan.code)):
        record = {"i": index, "kind": step.kind, "source": step.source[:500], "ok": True, "error": None}
        if step.is_test and (index == 0 or not steps[index - 1].is_test) and not (channel.gone or setup_error):
            # A run of consecutive tests starts: prefetch its literal calls in one batch.
            run_end = next((j for j in range(index, len(steps)) if not steps[j].is_test), len(steps))
            try:
                channel.prefetch([(proxies[name], args, kwargs) for calls in plan.calls[index:run_end]
                                  for name, args, kwargs in calls if name in proxies])
            except SolutionGone:
                pass  # the calls themselves will report it
        if channel.gone or setup_error:
            record.update(ok=False, error=channel.gone or setup_error)
        else:
            try:
                exec(code, ns)
            except Exception as exc:  # noqa: BLE001 - a failing test is data, recorded below
                record.update(ok=False, error=_error_text(exc))
        verdicts.add(record)
    verdicts.add({"done": True, "calls": channel.next_id})


def serve(control: socket.socket) -> int:
    """The harness process's life: one execution per message from the worker.

    Each message carries three fresh pipe ends (calls to the solution, its replies, verdicts
    out) as SCM_RIGHTS, then a header frame and the test code. Fresh pipes per execution mean
    nothing a previous solution wrote can reach this one's verdicts.
    """
    while True:
        _, fds, _, _ = socket.recv_fds(control, 1, 3)
        if not fds:
            return 0  # the worker closed the socket
        calls, replies, results = fds
        try:
            header = wire.recv(control.fileno())
            test_code = bytes(wire.read_exact(control.fileno(), header["tests_len"]) or b"").decode()
            run(test_code, header.get("entry_point"), header.get("prelude"), calls, replies, results)
        finally:
            for fd in fds:
                os.close(fd)
