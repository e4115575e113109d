"""One verifier worker process: the wire format, the worker's loop, and the caller's handle on it.

A worker is a fresh interpreter (``python -m verifiers.worker``, started by :class:`Worker`) that
builds one verifier and grades the items it reads from stdin, answering on stdout. Both
directions carry pickled frames (an 8-byte length, then the payload). The worker answers
``("ready", identity)`` once, then per item ``("ok", verification dict)``, ``("error", reason)``
for an exception in the verifier, or ``("fatal", reason)`` just before it exits (out of memory).
Scheduling, deadlines and replacement are the pool's (:mod:`verifiers.pool`).
"""

from __future__ import annotations

import collections
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from typing import IO, Any

from verifiers.base import Verification
from verifiers.registry import build_verifier, verifier_identity

_HEADER = struct.Struct("!Q")
_PIPELINE_MAX_BYTES = 32 * 1024  # also at most half the pipe's real size (pipeline_max)


# --- framing -------------------------------------------------------------------------------

def frame(obj: Any) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def send(stream: IO[bytes], obj: Any) -> None:
    stream.write(frame(obj))
    stream.flush()


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv(stream: IO[bytes]) -> Any:
    """One frame, or ``EOFError`` if the other side closed the pipe (or died mid-frame)."""
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    return pickle.loads(_read_exact(stream, size))


# --- worker side ---------------------------------------------------------------------------

def main() -> None:
    """Entry point of ``python -m verifiers.worker``."""
    # The pool ends this process (EOF on stdin, or SIGKILL); signals meant for the job are ignored.
    # SLURM signals every process of a job step (SIGTERM at a time limit, a warning signal before
    # it): a worker killed by one would turn its running item into an `error` verdict, in a phase
    # the trainer may still finish and commit before it stops (selfimprove.train.preemption).
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_IGN)
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    # The verifier may print; keep its output off the protocol pipe.
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    name, options, memory_mb = recv(proto_in)
    if memory_mb:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    verifier = build_verifier(name, **options)
    send(proto_out, ("ready", verifier_identity(verifier, name)))
    while True:
        try:
            completion, reference, fields = recv(proto_in)
        except EOFError:
            return
        try:
            result = verifier(completion, reference, **fields)
            if not isinstance(result, Verification):
                raise TypeError(f"verifier returned {type(result).__name__}, not Verification")
            send(proto_out, ("ok", result.to_dict()))
        except MemoryError:
            send(proto_out, ("fatal", f"verifier ran out of memory (worker limit {memory_mb} MB)"))
            return  # the heap may be in a bad state: let the caller start a fresh worker
        except Exception as exc:  # reported as Status.ERROR with the reason, never as a 0
            send(proto_out, ("error", f"{type(exc).__name__}: {exc}"[:2000]))


# --- caller side ---------------------------------------------------------------------------

class Worker:
    """One worker process and the items sent to it (the head of ``tasks`` is running)."""

    def __init__(self, name: str, options: dict[str, Any], memory_mb: int | None) -> None:
        env = dict(os.environ)
        # Workers are single-threaded by design; keep BLAS/OpenMP from oversubscribing cores.
        env.setdefault("OMP_NUM_THREADS", "1")
        # The worker imports what the caller can import (plug-in verifiers, an uninstalled checkout).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "verifiers.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0,
            cwd=os.getcwd(), close_fds=True, start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.ready = False
        self.started = time.monotonic()
        self.pipeline_max = pipeline_max(self.stdin.fileno())
        self.tasks: collections.deque[int] = collections.deque()  # sent, not answered; head runs
        self.head_started = 0.0
        send(self.stdin, (name, options, memory_mb))

    def submit(self, index: int, frame: bytes) -> None:
        if not self.tasks:
            self.head_started = time.monotonic()
        self.tasks.append(index)
        self.stdin.write(frame)
        self.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass  # a broken pipe on close only means the worker is already gone

    def describe_death(self) -> str:
        try:  # the pipe closes a moment before the process can be reaped
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "worker closed its pipe"
        return f"worker died (exit code {code})" + (" - killed by a signal" if code < 0 else "")


def pipeline_max(fd: int) -> int:
    """Largest frame that may wait in the pipe behind a busy worker without blocking the caller.

    Linux pipes hold 64 KiB, but only 8 KiB once a user passes ``pipe-user-pages-soft``.
    Where the size cannot be read, nothing is queued (every item waits for an idle worker).
    """
    try:
        import fcntl

        size = fcntl.fcntl(fd, getattr(fcntl, "F_GETPIPE_SZ", 1032))
    except (OSError, ImportError):
        return 0
    return min(_PIPELINE_MAX_BYTES, size // 2)


if __name__ == "__main__":
    if sys.stdin.isatty():
        sys.exit("usage: python -m verifiers.worker  (started by VerifierRuntime, not by hand)")
    main()
