"""The trainer's side of one jailed sandbox worker: how it is started, and its request pipe.

:class:`Worker` starts a worker (:mod:`verifiers.code.worker.main`) with the command the
isolation level gives (:mod:`verifiers.code.isolation`), sends it the seccomp filters, reads its
hello, then carries one request and its reply at a time. Every worker is started from one
long-lived thread (:class:`Spawner`). Which worker runs what, retries and shutdown are the
pool's (:class:`verifiers.code.sandbox.Sandbox`).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import select
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any

from verifiers.code import isolation
from verifiers.code.worker import wire

START_TIMEOUT_S = 30.0


class SandboxError(RuntimeError):
    """The sandbox failed to execute (not the program: the infrastructure)."""


class Spawner:
    """Starts worker processes from one long-lived thread.

    bubblewrap's ``--die-with-parent`` is ``PR_SET_PDEATHSIG``, which fires when the *thread*
    that started the process exits, not the process. A worker started from a caller's thread
    pool died with that pool (a benchmark that made a pool per round restarted every worker
    every round). Started from this thread, which lives as long as the interpreter, workers
    die only with the trainer.
    """

    _lock = threading.Lock()
    _requests: queue.SimpleQueue | None = None

    @classmethod
    def popen(cls, *args: Any, **kwargs: Any) -> subprocess.Popen:
        with cls._lock:
            if cls._requests is None:
                cls._requests = queue.SimpleQueue()
                threading.Thread(target=cls._serve, args=(cls._requests,), name="sandbox-spawner",
                                 daemon=True).start()
        done: concurrent.futures.Future = concurrent.futures.Future()
        cls._requests.put((args, kwargs, done))
        return done.result()

    @classmethod
    def _after_fork(cls) -> None:
        # A forked child has the queue but not the thread (and maybe a lock held mid-fork).
        cls._lock = threading.Lock()
        cls._requests = None

    @staticmethod
    def _serve(requests: queue.SimpleQueue) -> None:
        while True:
            args, kwargs, done = requests.get()
            try:
                done.set_result(subprocess.Popen(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                done.set_exception(exc)


os.register_at_fork(after_in_child=Spawner._after_fork)


class Worker:
    """One running worker process and its pipes. Used by one thread at a time."""

    def __init__(self, cmd: list[str], filters: dict[str, str]) -> None:
        self.stderr = tempfile.TemporaryFile()
        # No preexec_fn and close_fds: CPython spawns with vfork, so the (possibly huge) caller
        # is not copied; start_new_session lets close() kill the whole group.
        self.proc = Spawner.popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=self.stderr, env={"PATH": "/usr/bin:/bin", **isolation.THREAD_ENV},
                                   start_new_session=True, close_fds=True)
        try:
            wire.send(self.proc.stdin.fileno(), {"filters": filters})
            self.hello = self._read(time.monotonic() + START_TIMEOUT_S)
        except (BrokenPipeError, TimeoutError, wire.FrameError) as exc:
            raise SandboxError(f"worker did not start ({exc!r}): {self.error_text()}") from None
        if not isinstance(self.hello, dict):
            raise SandboxError(f"worker did not start: {self.error_text()}")

    def error_text(self) -> str:
        self.kill()
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace").strip()
        return text[-2000:] or f"exit status {self.proc.returncode}"

    def _read(self, deadline: float) -> Any:
        fd = self.proc.stdout.fileno()
        remaining = deadline - time.monotonic()
        # select() releases the GIL while we wait, so other verifier threads keep running.
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        header = wire.read_exact(fd, 4)
        if header is None:
            return None
        body = wire.read_exact(fd, int.from_bytes(header, "big"))
        return json.loads(body)

    def request(self, header: dict, payload: bytes, deadline: float) -> dict:
        fd = self.proc.stdin.fileno()
        wire.send(fd, dict(header, tests_len=len(payload)))
        if payload:
            wire.write_all(fd, payload)
        reply = self._read(deadline)
        if not isinstance(reply, dict):
            raise BrokenPipeError("worker closed its pipe")
        return reply

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # EOF: the worker exits on its own
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.proc.stdout.close()
        self.stderr.close()
