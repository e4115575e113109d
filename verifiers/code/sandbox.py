"""A local sandbox for untrusted Python: pre-started jailed workers, one fork per execution.

Each slot runs one long-lived worker (:mod:`verifiers.code.worker.main`) inside a
bubblewrap jail, started lazily on first use with ``subprocess`` (vfork/posix_spawn: the
trainer's address space is never copied). Inside the jail the worker keeps two kinds of
confined children (:mod:`verifiers.code.worker.confine`):

- one **harness** process, alive across executions, under its own non-root uid: it runs the
  tests and is the only source of verdicts (:mod:`verifiers.code.worker.harness`);
- per execution, a fresh **solution** process under another non-root uid, forked and
  confined ahead of time, that runs the untrusted program and answers the harness's calls
  into it with plain data (:mod:`verifiers.code.worker.solution`).

What is protected (at level ``full``; each property has an adversarial test in
``tests/verifiers/test_sandbox_adversarial.py``):

- network: no sockets (seccomp) inside an empty network namespace; the host's IPv4 and
  IPv6 loopback are unreachable;
- files: the system is read-only; the program's only writable place is its own directory
  on a size-capped tmpfs private to the jail, emptied after every execution; nothing of the
  host but /usr, the Python installation and the worker's code is visible; no /proc;
- the environment: the jail starts with an empty environment; no host variable leaks;
- processes: no fork, clone, threads or exec unless ``allow_processes`` (then at most that
  many, by RLIMIT_NPROC on a uid of its own, and every leftover is killed after the run); no
  ptrace, no signals to other processes, no setuid, unshare, setns, mount, io_uring, keyctl,
  bpf, perf or userfaultfd (seccomp, EPERM; foreign syscall ABIs kill the process);
- resources: address space, CPU seconds, file size, open files and core dumps are capped
  (rlimits); a wall-clock deadline kills the execution; stdout and stderr are capped;
- the verdict: only the harness writes it, in another process under another uid. Exiting
  early (``os._exit``, ``sys.exit``, ``SystemExit``), excepthooks, atexit handlers, patched
  builtins, patched harness modules, printed "passed" markers or echoed source earn nothing;
  return values cross as plain data only (no object with a forged ``__eq__``); names the
  program defines never shadow the harness's builtins; and the test code never enters a
  process the program runs in (it is wiped from the worker before the solution is forked);
- the trainer: a worker that dies (or is killed) is replaced and the call retried once.

What is not protected:

- kernel bugs reachable through the syscalls that stay allowed (this is not a VM);
- CPU, memory and cache *bandwidth*: a program can slow its neighbours for its time budget;
- at level ``namespaces`` (non-root: user namespaces) everything shares one uid, and at level
  ``process`` (no bubblewrap) there is no filesystem, network-namespace or PID isolation at
  all, only seccomp and rlimits: these run only when ``allow_weaker_isolation`` says so;
- test semantics that need shared objects: tests that pass functions or custom objects to
  the solution, or inspect arguments it mutated in place, fail (the values cannot cross);
- helper functions the tests call come from the program unless the task gives a trusted
  ``prelude`` (HumanEval's prompt), which the harness then runs itself;
- the harness is reused across executions, so module-level state that *trusted* test code
  changes (``random.seed``) carries over to the next execution of that worker;
- test code that itself hangs past the time limit loses the verdicts of the steps it ran in
  the last ~20 ms before (they are written in batches); the run is graded wrong either way;
- programs run under ``python -S``: installed packages import, but not those that only a
  ``.pth`` file makes importable (editable installs, legacy namespace shims).
"""

from __future__ import annotations

import atexit
import queue
import threading
import time
import warnings
import weakref
from typing import Any

from verifiers.code import isolation, policy
from verifiers.code.host import SandboxError, Worker
from verifiers.code.worker import wire

_WARNED: set[str] = set()
_WARN_LOCK = threading.Lock()


class SandboxUnavailable(SandboxError):
    """The required isolation level cannot be had on this machine."""


def _warn_once(message: str) -> None:
    with _WARN_LOCK:
        if message in _WARNED:
            return
        _WARNED.add(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


class Sandbox:
    """A pool of jailed workers. Thread-safe; workers start on first use.

    Args:
        workers: parallel slots (one worker process each).
        timeout_s: wall-clock limit of one execution (program load plus all its tests; per
            case in stdio mode). CPU time is capped at ``ceil(timeout_s) + 1`` seconds.
        memory_mb: address-space limit of the program.
        file_mb: largest file the program may write. tmpfs_mb: the jail's whole /tmp.
        max_output_kb: stdout and stderr each are kept up to this size; more kills the run.
        allow_processes: how many processes (threads included) the program may create; 0
            forbids fork, clone and exec entirely.
        allow_weaker_isolation: ``False`` requires level ``full``; a level name accepts that
            level or better; ``True`` accepts any (see :mod:`verifiers.code.isolation`).
        bwrap: path of the bubblewrap binary (default: found on PATH).
    """

    def __init__(self, *, workers: int = 2, timeout_s: float = 10.0, memory_mb: int = 512,
                 file_mb: int = 16, tmpfs_mb: int = 64, max_output_kb: int = 1024,
                 allow_processes: int = 0, allow_weaker_isolation: bool | str = False,
                 bwrap: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if timeout_s <= 0 or memory_mb < 64:
            raise ValueError("timeout_s must be > 0 and memory_mb >= 64")
        if allow_weaker_isolation is True:
            self.min_level = isolation.LEVELS[0]
        elif allow_weaker_isolation is False:
            self.min_level = "full"
        else:
            isolation.rank(allow_weaker_isolation)
            self.min_level = allow_weaker_isolation
        self.limits = {"timeout_s": float(timeout_s), "memory_mb": int(memory_mb),
                       "file_mb": int(file_mb), "processes": int(allow_processes),
                       "max_output": int(max_output_kb) << 10}
        self.tmpfs_mb = tmpfs_mb
        self._filters = {"strict": policy.compile_bpf(False).hex(),
                         "processes": policy.compile_bpf(True).hex()}
        self._bwrap = bwrap
        self._level: str | None = None
        self._level_reason = ""
        self._level_lock = threading.Lock()
        self._slots: queue.Queue[int] = queue.LifoQueue()
        self._uid_index = {}
        for slot in range(workers):
            self._slots.put(slot)
            self._uid_index[slot] = isolation.next_uid_index()
        self._workers: dict[int, Worker] = {}
        self.restarts = 0
        self._closed = False
        self._finalizer = weakref.finalize(self, Sandbox._close_all, self._workers)
        atexit.register(self._finalizer)

    # -- isolation ----------------------------------------------------------------------------
    @property
    def isolation(self) -> str:
        """The level really in force (starts the first worker if needed)."""
        self._ensure_level()
        return self._level

    @property
    def isolation_reason(self) -> str:
        self._ensure_level()
        return self._level_reason

    def _command(self, slot: int) -> list[str]:
        if self._level == "process":
            return isolation.process_command(self._uid_index[slot])
        return isolation.bwrap_command(self._bwrap_path, self._uid_index[slot], self.tmpfs_mb)

    def _ensure_level(self) -> None:
        with self._level_lock:
            if self._level is not None:
                return
            self._bwrap_path = isolation.find_bwrap(self._bwrap)
            level, reason, first = "process", "", None
            if self._bwrap_path is None:
                reason = f"bubblewrap not found ({self._bwrap or 'bwrap on PATH'}); install Debian/Ubuntu package 'bubblewrap'"
            else:
                try:
                    first = Worker(isolation.bwrap_command(self._bwrap_path, self._uid_index[0], self.tmpfs_mb), self._filters)
                    level = "full" if first.hello.get("separate_uids") else "namespaces"
                    if level == "namespaces":
                        reason = "not root: one uid inside the jail (user namespace)"
                except SandboxError as exc:
                    reason = f"bubblewrap cannot create namespaces here ({exc})"
            if first is None and isolation.rank("process") >= isolation.rank(self.min_level):
                first = Worker(isolation.process_command(self._uid_index[0]), self._filters)
            if isolation.rank(level) < isolation.rank(self.min_level):
                if first is not None:
                    first.close()
                raise SandboxUnavailable(
                    f"code sandbox: only isolation level '{level}' is available ({reason}), but "
                    f"'{self.min_level}' is required. Fix the cause, or accept the weaker level "
                    f"with allow_weaker_isolation='{level}' (see verifiers/code/isolation.py for "
                    "what it leaves unprotected).")
            if not first.hello.get("confined"):
                first.close()
                raise SandboxUnavailable("code sandbox: children cannot be confined (seccomp or uid "
                                         f"drop failed): {first.error_text()}")
            if level != "full":
                _warn_once(f"code sandbox running at isolation level '{level}' ({reason}); "
                           "see verifiers/code/isolation.py for what that leaves unprotected")
            self._level, self._level_reason = level, reason
            self._workers[0] = first

    # -- running -------------------------------------------------------------------------------
    def _worker(self, slot: int) -> Worker:
        worker = self._workers.get(slot)
        if worker is None or not worker.alive():
            if worker is not None:
                worker.close()
                self.restarts += 1
            worker = Worker(self._command(slot), self._filters)
            self._workers[slot] = worker
        return worker

    def _request(self, header: dict, payload: bytes, budget_s: float) -> dict:
        if self._closed:
            raise SandboxError("sandbox is closed")
        self._ensure_level()
        slot = self._slots.get()  # blocks (GIL released) until a slot is free
        try:
            last_error = ""
            for _attempt in range(2):  # one retry on a fresh worker if this one dies
                worker = self._worker(slot)
                try:
                    return worker.request(header, payload, time.monotonic() + budget_s)
                except TimeoutError:
                    # The worker enforces the deadline itself; silence past it means it is stuck.
                    last_error = f"worker unresponsive for {budget_s:.0f}s"
                    worker.kill()
                except (BrokenPipeError, wire.FrameError, ValueError) as exc:
                    last_error = f"worker died ({exc}): {worker.error_text()}"
            raise SandboxError(last_error)
        finally:
            self._slots.put(slot)

    def _header(self, mode: str, program: str, **extra: Any) -> dict:
        return dict(self.limits, mode=mode, program=program, **extra)

    def run_tests(self, program: str, tests: str, *, entry_point: str | None = None,
                  prelude: str | None = None) -> dict:
        """Load ``program`` and run ``tests`` against it; returns the worker's raw report."""
        header = self._header("tests", program, entry_point=entry_point, prelude=prelude)
        return self._request(header, tests.encode(), self.limits["timeout_s"] + 10)

    def run_stdio(self, program: str, inputs: list[str]) -> dict:
        """Run ``program`` once per stdin text; returns per-run exit, stdout and stderr."""
        header = self._header("stdio", program, inputs=list(inputs))
        return self._request(header, b"", self.limits["timeout_s"] * max(len(inputs), 1) + 10)

    # -- lifecycle -----------------------------------------------------------------------------
    @staticmethod
    def _close_all(workers: dict[int, Worker]) -> None:
        for worker in list(workers.values()):
            worker.close()
        workers.clear()

    def close(self) -> None:
        """Stop every worker (idempotent). Also runs at interpreter exit."""
        self._closed = True
        self._finalizer()
        atexit.unregister(self._finalizer)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
