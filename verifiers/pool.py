"""The worker pool behind :class:`verifiers.runtime.VerifierRuntime`: scheduling and deadlines.

One :class:`~verifiers.worker.Worker` per slot. A batch is spread over the slots by reference
(:class:`AffinityQueues`); each worker holds up to :data:`DEPTH` items. The caller waits on the
workers' pipes with :mod:`selectors`, so the deadline is enforced from whatever thread runs the
batch (no ``signal.alarm``). A worker past its deadline, dead, or out of memory is killed and
replaced at once (the replacement starts in the background); its running item gets ``timeout``
or ``error`` and the items queued behind it are retried.
"""

from __future__ import annotations

import collections
import pickle
import selectors
import sys
import time
import weakref
from typing import Any, Callable, Sequence

from verifiers.base import Verification
from verifiers.worker import Worker, frame, recv

STARTUP_TIMEOUT_S = 120.0
# Each worker holds up to DEPTH items: the one it runs and the next, already in its pipe, so
# it never waits for a round trip through the caller (on 2 ms items that idled workers ~20%).
# The queued item must fit in the pipe buffer (64 KiB on Linux) or the write would block the
# caller behind a busy, possibly hung, worker; bigger items are sent only to idle workers.
DEPTH = 2

Results = list[Verification | None]
Bar = Callable[[int | None], None]


def _kill_all(workers: list[Worker]) -> None:
    for w in workers:
        w.kill()


class WorkerPool:
    """``size`` worker processes of the verifier ``name``, started at once, in the background."""

    def __init__(self, name: str, options: dict[str, Any], *, size: int, memory_mb: int | None,
                 deadline_s: float, identity: str) -> None:
        self.name, self.options, self.memory_mb = name, options, memory_mb
        self.deadline_s = deadline_s
        self.identity = identity
        self.workers: list[Worker] = [self._spawn() for _ in range(size)]
        # Replacements go into this same list, so the finalizer always kills the current workers.
        self._finalizer = weakref.finalize(self, _kill_all, self.workers)

    def run(self, items: Sequence[Any], todo: list[int], results: Results, bar: Bar) -> None:
        """Grade ``items[i]`` for each ``i`` in ``todo`` into ``results[i]``."""
        try:
            self._run(items, todo, results, bar)
        except BaseException:
            # Workers holding this batch's items would answer into the next batch's slots.
            for w in list(self.workers):
                if w.tasks:
                    w.tasks.clear()
                    self._replace(w)
            raise

    def wait_until_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as sel:
            for w in self.workers:
                if not w.ready:
                    sel.register(w.stdout, selectors.EVENT_READ, w)
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{self.identity}: workers did not start within {timeout_s:g}s")
                for key, _ in sel.select(left):
                    self._read(key.data, [], None)
                    sel.unregister(key.fileobj)

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers]

    def close(self) -> None:
        """Kill the workers. Idempotent."""
        self._finalizer()

    # -- internals --

    def _spawn(self) -> Worker:
        return Worker(self.name, self.options, self.memory_mb)

    def _replace(self, worker: Worker) -> None:
        worker.kill()
        self.workers[self.workers.index(worker)] = self._spawn()

    def _run(self, items: Sequence[Any], todo: list[int], results: Results, bar: Bar) -> None:
        queues = AffinityQueues(items, todo, len(self.workers))
        remaining = len(todo)
        with selectors.DefaultSelector() as sel:
            watched: dict[int, Worker] = {}
            while remaining:
                self._sync_selector(sel, watched)
                for slot, w in enumerate(list(self.workers)):
                    finished = self._feed(slot, w, items, queues, results)
                    remaining -= finished
                    bar(finished)
                self._sync_selector(sel, watched)
                now = time.monotonic()
                waits = [w.head_started + self.deadline_s - now for w in self.workers if w.tasks]
                waits += [w.started + STARTUP_TIMEOUT_S - now for w in self.workers if not w.ready]
                timeout = max(0.0, min(waits)) if waits else None
                for key, _ in sel.select(timeout):
                    w = watched[key.fd]
                    done = self._read(w, results, queues)
                    if done:
                        remaining -= 1
                        bar(1)
                remaining -= self._enforce_deadlines(results, bar, queues)

    def _feed(self, slot: int, w: Worker, items: Sequence[Any], queues: AffinityQueues, results: Results) -> int:
        """Send ``w`` items until it holds DEPTH; returns how many items finished meanwhile."""
        finished = 0
        while w.ready and len(w.tasks) < DEPTH and queues.has_work_for(slot, busy=bool(w.tasks)):
            i = queues.take(slot)
            item = items[i]
            try:
                data = frame((item.completion, item.reference, item.fields))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                results[i] = Verification.error(f"item cannot be sent to a worker: {exc}")
                finished += 1
                continue
            if w.tasks and len(data) > w.pipeline_max:
                queues.give_back(slot, i)  # too big to queue behind a busy worker
                break
            try:
                w.submit(i, data)
            except (BrokenPipeError, OSError):  # the worker died
                w.tasks.pop()
                queues.give_back(slot, i)  # never sent: retried
                # Its last words are still in the pipe (a result, a fatal report, or EOF); a dead
                # worker's pipe cannot block the read.
                while w.tasks and w in self.workers:
                    finished += self._read(w, results, queues)
                if w in self.workers:
                    self._fail(w, None, results, queues)
                break
        return finished

    def _fail(self, w: Worker, head_result: Verification | None, results: Results,
              queues: AffinityQueues | None) -> int:
        """Replace ``w``; its running item gets ``head_result``, items queued behind it are
        retried on the new worker. Returns how many items that finished (0 or 1)."""
        slot = self.workers.index(w)
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

    def _sync_selector(self, sel: selectors.BaseSelector, watched: dict[int, Worker]) -> None:
        live = {w.stdout.fileno(): w for w in self.workers}
        for fd in list(watched):
            if fd not in live or watched[fd] is not live[fd]:
                sel.unregister(watched.pop(fd).stdout)
        for fd, w in live.items():
            if fd not in watched:
                sel.register(w.stdout, selectors.EVENT_READ)
                watched[fd] = w

    def _read(self, w: Worker, results: Results, queues: AffinityQueues | None) -> bool:
        """Handle one frame from ``w``; True when it completed an item."""
        try:
            kind, payload = recv(w.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            reason = w.describe_death() if isinstance(exc, EOFError) else f"bad frame: {exc}"
            if not w.ready:
                raise RuntimeError(f"{self.identity}: a worker failed to start ({reason}); "
                                   f"run `{sys.executable} -m verifiers.worker` to see why") from exc
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

    def _enforce_deadlines(self, results: Results, bar: Bar, queues: AffinityQueues) -> int:
        now = time.monotonic()
        finished = 0
        for w in list(self.workers):
            if w.tasks and now - w.head_started > self.deadline_s:
                finished += self._fail(w, Verification.timeout(self.deadline_s), results, queues)
                bar(1)
            elif not w.ready and now - w.started > STARTUP_TIMEOUT_S:
                raise RuntimeError(f"{self.identity}: a worker did not start within {STARTUP_TIMEOUT_S:g}s")
        return finished


class AffinityQueues:
    """Pending items, one queue per worker slot, keyed by the item's reference.

    Items that share a reference (the G completions of one GRPO group, the tests of one task)
    go to the same worker, so that worker's parse caches (the verifier's own, sympy's, the
    ANTLR parser's) are hit instead of warmed twice; measured on the math verifier, spreading
    them over two workers nearly doubled the CPU time per item. An idle worker whose queue is
    empty steals from the tail of the longest one, so no worker idles while work is pending.
    """

    def __init__(self, items: Sequence[Any], todo: list[int], slots: int) -> None:
        self._queues: list[collections.deque[int]] = [collections.deque() for _ in range(slots)]
        for i in todo:
            self._queues[affinity(items[i].reference) % slots].append(i)

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


def affinity(reference: Any) -> int:
    """A key equal for equal references, stable within this process (a huge repr is cut)."""
    try:
        return hash(reference)
    except TypeError:  # lists / dicts of test cases
        return hash(repr(reference)[:4096])
