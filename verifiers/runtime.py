"""Run any verifier out of process: batched, parallel, with a hard deadline per item.

    with VerifierRuntime("math", workers=2, deadline_s=5) as rt:
        results = rt.verify_batch([VerifyItem("... \\boxed{4}", "4")])   # input order
        rt.counts   # Counter({'correct': 1})

How it works. Each worker is a fresh interpreter (``python -m verifiers.runtime --worker``)
started with :mod:`subprocess`, so nothing is forked from the (possibly huge, multi-threaded,
CUDA-holding) trainer and the caller's ``__main__`` is never re-imported. Workers are started
once and reused; they talk to the caller over their stdin/stdout pipes in pickled frames. The
caller waits on those pipes with :mod:`selectors`, so the deadline is enforced from *whatever
thread* calls :meth:`VerifierRuntime.verify_batch` (no ``signal.alarm``), and in every
torchrun / DeepSpeed rank alike (each rank owns its runtime and its workers).

What is guaranteed:
- an item that runs past ``deadline_s`` gets ``timeout``; its worker is killed (SIGKILL) and a
  replacement is started in the background (its start-up does not count against any deadline);
- a worker that dies (segfault, ``os._exit``, memory limit) yields ``error`` for its item and
  is replaced; an exception inside the verifier yields ``error`` with the exception text;
- each worker's address space is capped (``memory_mb``, RLIMIT_AS), so a runaway sympy
  expansion fails in the worker, never in the caller; items larger than ``max_item_bytes``
  are ``invalid`` without being sent;
- results come back in input order; ``counts`` keeps running totals by status.

Not guaranteed: a verifier run with ``in_process=True`` has no deadline and no memory cap (for
debugging, and for verifiers that set ``isolated = True`` because they isolate themselves,
like the code sandbox; those run in a thread pool of ``workers`` threads). A batch call holds
a lock, so concurrent callers of one runtime are served one batch at a time. Options and items
must be picklable.
"""

from __future__ import annotations

import collections
import logging
import os
import pickle
import selectors
import struct
import subprocess
import sys
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Sequence

from verifiers.base import Status, Verification
from verifiers.registry import build_verifier, verifier_identity

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
_STARTUP_TIMEOUT_S = 120.0
# Each worker holds up to _DEPTH items: the one it runs and the next, already in its pipe, so
# it never waits for a round trip through the caller (on 2 ms items that idled workers ~20%).
# The queued item must fit in the pipe buffer (64 KiB on Linux) or the write would block the
# caller behind a busy, possibly hung, worker; bigger items are sent only to idle workers.
_DEPTH = 2
_PIPELINE_MAX_BYTES = 32 * 1024  # also at most half the pipe's real size (_Worker.pipeline_max)


@dataclass
class VerifyItem:
    """One thing to grade: the model's completion, the reference, and extra per-item fields."""

    completion: str
    reference: Any
    fields: dict[str, Any] = field(default_factory=dict)


# --- framing -------------------------------------------------------------------------------

def _frame(obj: Any) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def _send(stream: IO[bytes], obj: Any) -> None:
    stream.write(_frame(obj))
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


def _recv(stream: IO[bytes]) -> Any:
    """One frame, or ``EOFError`` if the other side closed the pipe (or died mid-frame)."""
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    return pickle.loads(_read_exact(stream, size))


# --- worker side ---------------------------------------------------------------------------

def _worker_main() -> None:
    """Entry point of ``python -m verifiers.runtime --worker``."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    # The verifier may print; keep its output off the protocol pipe.
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    name, options, memory_mb = _recv(proto_in)
    if memory_mb:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    verifier = build_verifier(name, **options)
    _send(proto_out, ("ready", verifier_identity(verifier, name)))
    while True:
        try:
            completion, reference, fields = _recv(proto_in)
        except EOFError:
            return
        try:
            result = verifier(completion, reference, **fields)
            if not isinstance(result, Verification):
                raise TypeError(f"verifier returned {type(result).__name__}, not Verification")
            _send(proto_out, ("ok", result.to_dict()))
        except MemoryError:
            _send(proto_out, ("fatal", f"verifier ran out of memory (worker limit {memory_mb} MB)"))
            return  # the heap may be in a bad state: let the caller start a fresh worker
        except Exception as exc:  # reported as Status.ERROR with the reason, never as a 0
            _send(proto_out, ("error", f"{type(exc).__name__}: {exc}"[:2000]))


# --- caller side ---------------------------------------------------------------------------

class _Worker:
    """One worker process and the item it is running."""

    def __init__(self, name: str, options: dict[str, Any], memory_mb: int | None) -> None:
        env = dict(os.environ)
        # Workers are single-threaded by design; keep BLAS/OpenMP from oversubscribing cores.
        env.setdefault("OMP_NUM_THREADS", "1")
        # The worker imports what the caller can import (plug-in verifiers, an uninstalled checkout).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "verifiers.runtime", "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0,
            cwd=os.getcwd(), close_fds=True, start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.ready = False
        self.started = time.monotonic()
        self.pipeline_max = _pipeline_max(self.stdin.fileno())
        self.tasks: collections.deque[int] = collections.deque()  # sent, not answered; head runs
        self.head_started = 0.0
        _send(self.stdin, (name, options, memory_mb))

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


def _pipeline_max(fd: int) -> int:
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


def _kill_all(workers: list[_Worker]) -> None:
    for w in workers:
        w.kill()


class VerifierRuntime:
    """Batched, parallel, deadline-enforcing execution of the verifier called ``name``.

    Args:
        name: a verifier name for :func:`verifiers.registry.build_verifier`.
        options: keyword options for its factory (must be picklable).
        workers: number of worker processes (or threads, for ``isolated`` verifiers).
        deadline_s: hard wall-clock limit per item, measured from when a worker receives it.
        in_process: run in the caller (no deadline, no memory cap): for debugging and tests.
        memory_mb: address-space cap of each worker (``None``: no cap).
        max_item_bytes: completions + references larger than this are ``invalid`` unsent.
    """

    def __init__(
        self,
        name: str,
        options: dict | None = None,
        *,
        workers: int = 2,
        deadline_s: float = 10.0,
        in_process: bool = False,
        memory_mb: int | None = 2048,
        max_item_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if deadline_s <= 0:
            raise ValueError(f"deadline_s must be > 0, got {deadline_s}")
        self.name = name
        self.options = dict(options or {})
        self.workers = workers
        self.deadline_s = deadline_s
        self.memory_mb = memory_mb
        self.max_item_bytes = max_item_bytes
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        # Built here as well: for identity, the ``isolated`` flag, and to fail fast on bad options.
        self.verifier = build_verifier(name, **self.options)
        self.identity: str = verifier_identity(self.verifier, name)
        self.in_process = in_process or bool(getattr(self.verifier, "isolated", False))
        self._pool: list[_Worker] = []
        self._closed = False
        if not self.in_process:
            self._pool = [self._spawn() for _ in range(workers)]
        self._finalizer = weakref.finalize(self, _kill_all, self._pool)

    # -- public API --

    def verify_batch(self, items: Sequence[VerifyItem], progress: bool = False) -> list[Verification]:
        """Grade ``items``; results in input order, one per item, never an exception per item."""
        if self._closed:
            raise RuntimeError("VerifierRuntime is closed")
        with self._lock:
            results: list[Verification | None] = [None] * len(items)
            todo = []
            for i, item in enumerate(items):
                too_big = self._oversized(item)
                if too_big:
                    results[i] = Verification.invalid(too_big)
                else:
                    todo.append(i)
            bar = _progress_bar(len(items), progress, self.identity)
            bar(len(items) - len(todo))
            if self.in_process:
                self._run_in_process(items, todo, results, bar)
            else:
                try:
                    self._run_pool(items, todo, results, bar)
                except BaseException:
                    # Workers holding this batch's items would answer into the next batch's slots.
                    for w in list(self._pool):
                        if w.tasks:
                            w.tasks.clear()
                            self._replace(w)
                    raise
            bar(None)
            final = [r if r is not None else Verification.error("no result (internal error)") for r in results]
            batch_counts = collections.Counter(r.status.value for r in final)
            self.counts.update(batch_counts)
            failed = batch_counts[Status.ERROR.value] + batch_counts[Status.TIMEOUT.value]
            if failed:
                log.warning("%s: %d of %d items errored or timed out (%s)", self.identity, failed,
                            len(final), dict(batch_counts))
            return final

    def wait_until_ready(self, timeout_s: float = _STARTUP_TIMEOUT_S) -> None:
        """Block until every worker has started (they start in the background at construction)."""
        deadline = time.monotonic() + timeout_s
        with self._lock, selectors.DefaultSelector() as sel:
            for w in self._pool:
                if not w.ready:
                    sel.register(w.stdout, selectors.EVENT_READ, w)
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{self.identity}: workers did not start within {timeout_s:g}s")
                for key, _ in sel.select(left):
                    self._read(key.data, [], None)
                    sel.unregister(key.fileobj)

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (empty in-process); for monitoring and benchmarks."""
        return [w.proc.pid for w in self._pool]

    def close(self) -> None:
        """Stop the workers. Idempotent."""
        self._closed = True
        self._finalizer()

    def __enter__(self) -> VerifierRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "in-process" if self.in_process else f"{self.workers} workers"
        return f"VerifierRuntime({self.identity!r}, {mode}, deadline_s={self.deadline_s})"

    # -- internals --

    def _oversized(self, item: VerifyItem) -> str | None:
        size = len(item.completion) if isinstance(item.completion, (str, bytes)) else 0
        if isinstance(item.reference, (str, bytes)):
            size += len(item.reference)
        if size > self.max_item_bytes:
            return f"item has {size} characters (runtime limit {self.max_item_bytes})"
        return None

    def _spawn(self) -> _Worker:
        return _Worker(self.name, self.options, self.memory_mb)

    def _call(self, item: VerifyItem) -> Verification:
        try:
            result = self.verifier(item.completion, item.reference, **item.fields)
        except Exception as exc:  # reported as Status.ERROR with the reason
            return Verification.error(f"{type(exc).__name__}: {exc}"[:2000])
        if not isinstance(result, Verification):
            return Verification.error(f"verifier returned {type(result).__name__}, not Verification")
        return result

    def _run_in_process(self, items: Sequence[VerifyItem], todo: list[int],
                        results: list[Verification | None], bar: Callable[[int | None], None]) -> None:
        if self.workers == 1 or len(todo) < 2:
            for i in todo:
                results[i] = self._call(items[i])
                bar(1)
            return
        with ThreadPoolExecutor(self.workers) as pool:
            for i, result in zip(todo, pool.map(lambda j: self._call(items[j]), todo)):
                results[i] = result
                bar(1)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._pool[self._pool.index(worker)] = self._spawn()

    def _run_pool(self, items: Sequence[VerifyItem], todo: list[int],
                  results: list[Verification | None], bar: Callable[[int | None], None]) -> None:
        queues = _AffinityQueues(items, todo, len(self._pool))
        remaining = len(todo)
        with selectors.DefaultSelector() as sel:
            watched: dict[int, _Worker] = {}
            while remaining:
                self._sync_selector(sel, watched)
                for slot, w in enumerate(list(self._pool)):
                    while w.ready and len(w.tasks) < _DEPTH and queues.has_work_for(slot, busy=bool(w.tasks)):
                        i = queues.take(slot)
                        item = items[i]
                        try:
                            frame = _frame((item.completion, item.reference, item.fields))
                        except (pickle.PicklingError, TypeError, AttributeError) as exc:
                            results[i] = Verification.error(f"item cannot be sent to a worker: {exc}")
                            remaining -= 1
                            bar(1)
                            continue
                        if w.tasks and len(frame) > w.pipeline_max:
                            queues.give_back(slot, i)  # too big to queue behind a busy worker
                            break
                        try:
                            w.submit(i, frame)
                        except (BrokenPipeError, OSError):  # the worker died
                            w.tasks.pop()
                            queues.give_back(slot, i)  # never sent: retried
                            # Its last words are still in the pipe (a result, a fatal report, or
                            # EOF); a dead worker's pipe cannot block the read.
                            finished = 0
                            while w.tasks and w in self._pool:
                                finished += self._read(w, results, queues)
                            if w in self._pool:
                                self._fail(w, None, results, queues)
                            remaining -= finished
                            bar(finished)
                            break
                self._sync_selector(sel, watched)
                now = time.monotonic()
                waits = [w.head_started + self.deadline_s - now for w in self._pool if w.tasks]
                waits += [w.started + _STARTUP_TIMEOUT_S - now for w in self._pool if not w.ready]
                timeout = max(0.0, min(waits)) if waits else None
                for key, _ in sel.select(timeout):
                    w = watched[key.fd]
                    done = self._read(w, results, queues)
                    if done:
                        remaining -= 1
                        bar(1)
                remaining -= self._enforce_deadlines(results, bar, queues)

    def _fail(self, w: _Worker, head_result: Verification | None,
              results: list[Verification | None], queues: _AffinityQueues | None) -> int:
        """Replace ``w``; its running item gets ``head_result``, items queued behind it are
        retried on the new worker. Returns how many items that finished (0 or 1)."""
        slot = self._pool.index(w)
        finished = 0
        if head_result is not None and w.tasks:
            results[w.tasks.popleft()] = head_result
            finished = 1
        if queues is not None:
            for i in reversed(w.tasks):
                queues.give_back(slot, i)
        w.tasks.clear()
        self._replace(w)
        return finished

    def _sync_selector(self, sel: selectors.BaseSelector, watched: dict[int, _Worker]) -> None:
        live = {w.stdout.fileno(): w for w in self._pool}
        for fd in list(watched):
            if fd not in live or watched[fd] is not live[fd]:
                sel.unregister(watched.pop(fd).stdout)
        for fd, w in live.items():
            if fd not in watched:
                sel.register(w.stdout, selectors.EVENT_READ)
                watched[fd] = w

    def _read(self, w: _Worker, results: list[Verification | None],
              queues: _AffinityQueues | None) -> bool:
        """Handle one frame from ``w``; True when it completed an item."""
        try:
            kind, payload = _recv(w.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            reason = w.describe_death() if isinstance(exc, EOFError) else f"bad frame: {exc}"
            if not w.ready:
                raise RuntimeError(f"{self.identity}: a worker failed to start ({reason}); "
                                   f"run `{sys.executable} -m verifiers.runtime --worker` to see why") from exc
            return bool(self._fail(w, Verification.error(reason), results, queues))
        if kind == "ready":
            w.ready = True
            return False
        if not w.tasks:
            return False
        if kind == "fatal":  # the worker reports its item and exits: retry what is queued behind it
            return bool(self._fail(w, Verification.error(payload), results, queues))
        task = w.tasks.popleft()
        if w.tasks:  # the worker went straight on to the next item in its pipe
            w.head_started = time.monotonic()
        results[task] = Verification.from_dict(payload) if kind == "ok" else Verification.error(payload)
        return True

    def _enforce_deadlines(self, results: list[Verification | None], bar: Callable[[int | None], None],
                           queues: _AffinityQueues) -> int:
        now = time.monotonic()
        finished = 0
        for w in list(self._pool):
            if w.tasks and now - w.head_started > self.deadline_s:
                finished += self._fail(w, Verification.timeout(self.deadline_s), results, queues)
                bar(1)
            elif not w.ready and now - w.started > _STARTUP_TIMEOUT_S:
                raise RuntimeError(f"{self.identity}: a worker did not start within {_STARTUP_TIMEOUT_S:g}s")
        return finished


class _AffinityQueues:
    """Pending items, one queue per worker slot, keyed by the item's reference.

    Items that share a reference (the G completions of one GRPO group, the tests of one task)
    go to the same worker, so that worker's parse caches (the verifier's own, sympy's, the
    ANTLR parser's) are hit instead of warmed twice; measured on the math verifier, spreading
    them over two workers nearly doubled the CPU time per item. An idle worker whose queue is
    empty steals from the tail of the longest one, so no worker idles while work is pending.
    """

    def __init__(self, items: Sequence[VerifyItem], todo: list[int], slots: int) -> None:
        self._queues: list[collections.deque[int]] = [collections.deque() for _ in range(slots)]
        for i in todo:
            self._queues[_affinity(items[i].reference) % slots].append(i)

    def __bool__(self) -> bool:
        return any(self._queues)

    def has_work_for(self, slot: int, busy: bool) -> bool:
        """A busy worker only pipelines its own items; stealing is for idle workers (a stolen item
        queued behind a slow one would wait while another worker might be free)."""
        return bool(self._queues[slot]) if busy else bool(self)

    def take(self, slot: int) -> int:
        if self._queues[slot]:
            return self._queues[slot].popleft()
        return max(self._queues, key=len).pop()

    def give_back(self, slot: int, index: int) -> None:
        self._queues[slot].appendleft(index)


def _affinity(reference: Any) -> int:
    """A key equal for equal references, stable within this process (a huge repr is cut)."""
    try:
        return hash(reference)
    except TypeError:  # lists / dicts of test cases
        return hash(repr(reference)[:4096])


def _progress_bar(total: int, enabled: bool, desc: str) -> Callable[[int | None], None]:
    """``update(n)``; ``update(None)`` closes. A no-op unless ``enabled``."""
    if not enabled:
        return lambda n: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="item")

    def update(n: int | None) -> None:
        if n is None:
            bar.close()
        elif n:
            bar.update(n)

    return update


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        _worker_main()
    else:
        sys.exit("usage: python -m verifiers.runtime --worker  (started by VerifierRuntime, not by hand)")
