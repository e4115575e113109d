"""Run any verifier out of process: batched, parallel, with a hard deadline per item.

    with VerifierRuntime("math", workers=2, deadline_s=5) as rt:
        results = rt.verify_batch([VerifyItem("... \\boxed{4}", "4")])   # input order
        rt.counts   # Counter({'correct': 1})

How it works. Each worker is a fresh interpreter (``python -m verifiers.worker``, see
:mod:`verifiers.worker`) started with :mod:`subprocess`, so nothing is forked from the (possibly huge, multi-threaded,
CUDA-holding) trainer and the caller's ``__main__`` is never re-imported. Workers are started
once and reused; they talk to the caller over their stdin/stdout pipes in pickled frames. The
caller waits on those pipes with :mod:`selectors`, so the deadline is enforced from *whatever
thread* calls :meth:`VerifierRuntime.verify_batch` (no ``signal.alarm``), and in every
torchrun / DeepSpeed rank alike (each rank owns its runtime and its workers). Scheduling,
deadlines and replacement are :mod:`verifiers.pool`'s; this module is the public API.

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
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from verifiers.base import Status, Verification
from verifiers.pool import STARTUP_TIMEOUT_S, WorkerPool
from verifiers.registry import build_verifier, verifier_identity

log = logging.getLogger(__name__)


@dataclass
class VerifyItem:
    """One thing to grade: the model's completion, the reference, and extra per-item fields."""

    completion: str
    reference: Any
    fields: dict[str, Any] = field(default_factory=dict)


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
        self._closed = False
        self._pool = None if self.in_process else WorkerPool(
            name, self.options, size=workers, memory_mb=memory_mb, deadline_s=deadline_s, identity=self.identity)

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
            if self._pool is None:
                self._run_in_process(items, todo, results, bar)
            else:
                self._pool.run(items, todo, results, bar)
            bar(None)
            final = [r if r is not None else Verification.error("no result (internal error)") for r in results]
            batch_counts = collections.Counter(r.status.value for r in final)
            self.counts.update(batch_counts)
            failed = batch_counts[Status.ERROR.value] + batch_counts[Status.TIMEOUT.value]
            if failed:
                log.warning("%s: %d of %d items errored or timed out (%s)", self.identity, failed,
                            len(final), dict(batch_counts))
            return final

    def wait_until_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Block until every worker has started (they start in the background at construction)."""
        if self._pool is not None:
            with self._lock:
                self._pool.wait_until_ready(timeout_s)

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (empty in-process); for monitoring and benchmarks."""
        return [] if self._pool is None else self._pool.pids()

    def close(self) -> None:
        """Stop the workers. Idempotent."""
        self._closed = True
        if self._pool is not None:
            self._pool.close()

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
