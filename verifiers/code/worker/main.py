"""The long-lived worker: one per sandbox slot, started once inside the jail, reused.

Protocol on fds 0/1 (see :mod:`.wire`): the host sends a setup frame (the compiled seccomp
filters); the worker answers with a hello frame; then for each request frame (a JSON header,
followed in test mode by ``tests_len`` raw bytes of test code) it runs one execution and
replies with one JSON frame.

Processes: one confined **harness** (:mod:`.harness`, its own uid) lives across executions;
each execution gets a fresh confined **solution** process, forked ahead of time as a
:class:`~.children.Standby`. The test code goes to the harness over a socket and the worker's
copy is wiped right after; the solution that runs it was forked before it arrived. Expected
stdout of stdio cases never reaches the jail at all.
"""

from __future__ import annotations

import gc
import importlib
import math
import os
import resource
import socket
import time
import traceback

from . import confine as confine_mod
from . import solution, wire
from .children import Standby, exit_info, fork, killpg, run_child, set_filters
from .supervise import Stream, parse_frames, remove_tree, supervise

HARNESS_GRACE_S = 1.0  # after the solution is stopped, time for the harness to finish up
# Then a fresh harness process: bounds any slow leak in it (its address space is capped too).
# Not much lower: a new harness plans every test suite again (about 2 ms each, cold), which
# at 500 runs cost close to 1 ms per execution on HumanEval.
HARNESS_MAX_RUNS = 2000
# Imported once here so that each forked solution finds them loaded: `from typing import
# List` alone costs milliseconds per execution otherwise. Small modules only: each MB of
# worker heap costs every execution about 0.3 ms (the fork's page-table copy, the solution's
# teardown). Not hashlib (OpenSSL: 3.7 MB) nor dataclasses (with inspect and ast: 1.1 MB).
PRELOAD = ("typing", "math", "re", "collections", "itertools", "functools", "heapq", "bisect",
           "string", "random", "copy", "operator", "array", "cmath")


class Worker:
    def __init__(self, uid_index: int, uid_base: int | None, in_jail: bool) -> None:
        self.in_jail = in_jail
        self.harness_uid = None if uid_base is None else uid_base + 2 * uid_index
        self.solution_uid = None if uid_base is None else uid_base + 2 * uid_index + 1
        self.runs = 0
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.harness_pid: int | None = None
        self.harness_sock: socket.socket | None = None
        self.harness_runs = 0
        self.standby: Standby | None = None

    # -- the harness process -------------------------------------------------------------------
    def _start_harness(self, memory_mb: int) -> None:
        ours, theirs = socket.socketpair()
        # CPU time adds up over the harness's life; the worker's deadline bounds each run.
        limits = confine_mod.Limits(cpu_s=resource.RLIM_INFINITY, memory_mb=max(memory_mb, 512) + 1024,
                                    uid=self.harness_uid)
        pid = fork()
        if pid == 0:
            try:
                ours.close()
                # Imported here, in the harness process and before its uid drop (a process-level
                # jail's uid may not read the stdlib), never in the worker: test planning needs
                # ast and dataclasses, which would grow the heap every solution fork copies.
                from . import harness  # noqa: PLC0415

                run_child({0: self.devnull, 1: self.devnull, 2: 2, 3: theirs.fileno()}, limits, None,
                          lambda: harness.serve(socket.socket(fileno=3)))
            except BaseException:  # noqa: BLE001 - an import error: say why, then end
                traceback.print_exc()
            finally:
                os._exit(70)  # run_child itself never returns
        theirs.close()
        self.harness_pid, self.harness_sock, self.harness_runs = pid, ours, 0

    def _stop_harness(self) -> dict:
        """Kill the harness (if any) and report how it ended."""
        if self.harness_pid is None:
            return exit_info(None)
        killpg(self.harness_pid)
        status = os.waitpid(self.harness_pid, 0)[1]
        self.harness_sock.close()
        self.harness_pid = self.harness_sock = None
        return exit_info(status)

    def _harness_exited(self) -> dict | None:
        if self.harness_pid is None or os.waitpid(self.harness_pid, os.WNOHANG)[0] == 0:
            return None
        return self._stop_harness()

    # -- solution processes --------------------------------------------------------------------
    def _limits(self, req: dict) -> confine_mod.Limits:
        return confine_mod.Limits(cpu_s=math.ceil(req["timeout_s"]) + 1, memory_mb=req["memory_mb"],
                                  file_mb=req["file_mb"], processes=req["processes"], uid=self.solution_uid)

    def prepare(self, req: dict) -> None:
        """Have a live standby solution with ``req``'s limits. Call only while no test code
        is in this process's memory."""
        limits = self._limits(req)
        if self.standby is not None and (self.standby.limits != limits or not self.standby.alive()):
            self.standby.discard()
            self.standby = None
        if self.standby is None:
            self.runs += 1
            workdir = f"/tmp/run-{os.getpid()}-{self.runs}"
            os.mkdir(workdir, 0o700)
            if self.solution_uid is not None:
                os.chown(workdir, self.solution_uid, self.solution_uid)
            self.standby = Standby.fork(limits, workdir, solution.run_standby)

    def _take(self, mode: str, program: str) -> Standby:
        sb, self.standby = self.standby, None
        wire.send(sb.control_w, {"mode": mode, "program": program})
        sb.close("control_w")
        return sb

    def _finish(self, sb: Standby, status: int | None, processes: int) -> None:
        if status is None:
            os.waitpid(sb.pid, 0)  # killed already; this waits for its teardown
        killpg(sb.pid)
        if processes and self.in_jail:
            # Descendants may have left the group (setsid). In our PID namespace everything
            # but the jail's init and this worker is from this execution, or the harness,
            # which is then restarted.
            os.kill(-1, 9)
            self._stop_harness()
        remove_tree(sb.workdir)

    # -- executions ----------------------------------------------------------------------------
    def run_tests(self, req: dict, tests: bytearray) -> tuple[dict, object]:
        """One test-mode execution. Returns the reply and a cleanup to run after sending it."""
        self._harness_exited()
        if self.harness_pid is None or self.harness_runs >= HARNESS_MAX_RUNS:
            self._stop_harness()
            self._start_harness(req["memory_mb"])
        self.harness_runs += 1
        start = time.monotonic()
        results_r, results_w = os.pipe()
        sb = self.standby
        try:
            socket.send_fds(self.harness_sock, [b"x"], [sb.calls_w, sb.replies_r, results_w])
            wire.send(self.harness_sock.fileno(), {"tests_len": len(tests), "entry_point": req.get("entry_point"),
                                                   "prelude": req.get("prelude")})
            wire.write_all(self.harness_sock.fileno(), tests)
        finally:
            tests[:] = bytes(len(tests))  # wipe: nothing forked later may find it
            os.close(results_w)
            sb.close("calls_w", "replies_r", "stdin_w")
        program = req["program"]
        if req.get("prelude"):
            program = req["prelude"] + "\n" + program
        sb = self._take("tests", program)
        cap = req["max_output"]
        streams = {"out": Stream(sb.out_r, cap), "err": Stream(sb.err_r, cap),
                   "results": Stream(results_r, 32 << 20)}
        sup = supervise(sb.pid, streams, start + req["timeout_s"], HARNESS_GRACE_S, stop_on_eof="results")
        harness_end = self._stop_harness() if sup["harness_overran"] else self._harness_exited()
        reply = {
            "wall_s": time.monotonic() - start,
            "timed_out": sup["timed_out"],
            "output_limit": sup["output_limit"],
            "solution": _solution_view(sup["status"], streams["out"], streams["err"]),
            "harness": harness_end or exit_info(None),
            "results": parse_frames(streams["results"].data),
        }
        # After the reply: reaping a killed process waits for its teardown, milliseconds the
        # verdict need not wait for.
        return reply, lambda: self._finish(sb, sup["status"], req["processes"])

    def run_stdio(self, req: dict) -> dict:
        runs = []
        for index, text in enumerate(req["inputs"]):
            if index:
                self.prepare(req)
            start = time.monotonic()
            self.standby.close("calls_w", "replies_r")
            sb = self._take("stdio", req["program"])
            cap = req["max_output"]
            streams = {"out": Stream(sb.out_r, cap), "err": Stream(sb.err_r, cap)}
            stdin_w, sb.stdin_w = sb.stdin_w, -1  # supervise writes and closes it
            sup = supervise(sb.pid, streams, start + req["timeout_s"], 0.0, stdin=(stdin_w, str(text).encode()))
            self._finish(sb, sup["status"], req["processes"])
            view = _solution_view(sup["status"], streams["out"], streams["err"])
            view.update(wall_s=time.monotonic() - start, timed_out=sup["timed_out"],
                        output_limit=sup["output_limit"])
            runs.append(view)
        return {"runs": runs}


def _solution_view(status: int | None, out: Stream, err: Stream) -> dict:
    info = exit_info(status)
    info.update(stdout=out.text(), stderr=err.text(), stdout_truncated=out.overflow,
                stderr_truncated=err.overflow)
    return info


def _probe(worker: Worker) -> dict:
    """Check that a child can really be confined here (uid drop and seccomp)."""
    pid = fork()
    if pid == 0:
        run_child({0: worker.devnull, 1: worker.devnull, 2: 2},
                  confine_mod.Limits(cpu_s=5, memory_mb=256, uid=worker.solution_uid), None, lambda: 0)
    status = os.waitpid(pid, 0)[1]
    return {"confined": os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0}


def main(argv: list[str]) -> int:
    uid_index, uid_base, in_jail = int(argv[0]), int(argv[1]), argv[2] == "jail"
    setup = wire.recv(0)
    if not isinstance(setup, dict):
        return 2
    set_filters(setup["filters"])
    worker = Worker(uid_index, uid_base if uid_base >= 0 else None, in_jail)
    for name in PRELOAD:
        importlib.import_module(name)
    hello = {"pid": os.getpid(), "uid": os.getuid(), "separate_uids": worker.solution_uid is not None,
             "harness_uid": worker.harness_uid, "solution_uid": worker.solution_uid}
    hello.update(_probe(worker))
    # Long-lived objects leave the collector's view: children then do not touch (and so copy)
    # every page of the worker's heap when their first collection runs.
    gc.freeze()
    wire.send(1, hello)
    if not hello["confined"]:
        return 3
    while True:
        req = wire.recv(0)
        if req is None:
            if worker.standby is not None:
                worker.standby.discard()
            worker._stop_harness()
            return 0
        worker.prepare(req)  # before the test code is read: see Standby
        if req["mode"] == "tests":
            tests = wire.read_exact(0, req["tests_len"]) if req["tests_len"] else bytearray()
            reply, cleanup = worker.run_tests(req, tests)
            wire.send(1, reply)
            cleanup()
        elif req["mode"] == "stdio":
            wire.send(1, worker.run_stdio(req))
        else:
            wire.send(1, {"error": f"unknown mode {req['mode']!r}"})
        worker.prepare(req)  # the next execution's solution, off the critical path
