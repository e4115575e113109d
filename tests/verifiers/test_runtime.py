"""VerifierRuntime: order, deadlines, dead workers, errors, threads, the TRL adapter.

The misbehaving verifiers below are plain functions that the worker processes import by
``module:callable`` path.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from verifiers.base import Status, Verification
from verifiers.runtime import VerifierRuntime, VerifyItem
from verifiers.trl_reward import reward_function

HERE = "tests.verifiers.test_runtime"


def echo(completion: str, reference: Any, **fields: Any) -> Verification:
    return Verification.graded(completion == str(reference), completion, details={"pid": os.getpid(), **fields})


def hang(completion: str, reference: Any) -> Verification:
    if completion == "hang":
        time.sleep(3600)
    return Verification.graded(True, completion)


def crash(completion: str, reference: Any) -> Verification:
    if completion == "crash":
        os._exit(3)
    return Verification.graded(True, completion)


def boom(completion: str, reference: Any) -> Verification:
    raise ValueError("verifier bug")


def hog(completion: str, reference: Any) -> Verification:
    blocks = [bytearray(64 * 1024 * 1024) for _ in range(10_000)]  # 640 GB if unchecked
    return Verification.graded(bool(blocks), None)


class SelfIsolated:
    isolated = True
    version = "7"

    def __call__(self, completion: str, reference: Any) -> Verification:
        return Verification.graded(threading.current_thread() is not threading.main_thread(), completion)


def test_results_in_input_order_with_counts() -> None:
    items = [VerifyItem(str(i), i if i % 3 else -1) for i in range(12)]
    with VerifierRuntime(f"{HERE}:echo", workers=2, deadline_s=10) as rt:
        results = rt.verify_batch(items)
        assert [r.extracted for r in results] == [str(i) for i in range(12)]
        assert [r.correct for r in results] == [bool(i % 3) for i in range(12)]
        assert rt.counts == {"correct": 8, "wrong": 4}
        assert len({r.details["pid"] for r in results}) <= 2
        assert os.getpid() not in {r.details["pid"] for r in results}


def test_hung_item_times_out_and_worker_is_replaced() -> None:
    with VerifierRuntime(f"{HERE}:hang", workers=2, deadline_s=1.0) as rt:
        rt.verify_batch([VerifyItem("warm", 0), VerifyItem("warm", 0)])  # workers started
        start = time.monotonic()
        results = rt.verify_batch([VerifyItem("hang", 0), VerifyItem("ok", 0), VerifyItem("hang", 0)])
        assert time.monotonic() - start < 2 * 1.0 + 1.0
        assert [r.status for r in results] == [Status.TIMEOUT, Status.CORRECT, Status.TIMEOUT]
        assert rt.verify_batch([VerifyItem("ok", 0)] * 4)[0].correct  # replacements work
        assert rt.counts[Status.TIMEOUT.value] == 2


def test_big_item_is_not_queued_behind_a_hung_one() -> None:
    """A frame larger than the pipe buffer, written to a busy worker, would block the caller."""
    big = "x" * 200_000
    with VerifierRuntime(f"{HERE}:hang", workers=1, deadline_s=1.0) as rt:
        rt.wait_until_ready()
        start = time.monotonic()
        results = rt.verify_batch([VerifyItem("hang", 0), VerifyItem(big, 0), VerifyItem("ok", 0)])
        assert time.monotonic() - start < 2 * 1.0 + 2.0
    assert [r.status for r in results] == [Status.TIMEOUT, Status.CORRECT, Status.CORRECT]


def test_deadline_enforced_from_a_non_main_thread() -> None:
    out: list[Verification] = []
    with VerifierRuntime(f"{HERE}:hang", workers=1, deadline_s=0.5) as rt:
        thread = threading.Thread(target=lambda: out.extend(rt.verify_batch([VerifyItem("hang", 0)])))
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert out[0].status is Status.TIMEOUT


def test_dead_worker_gives_error_and_is_replaced() -> None:
    with VerifierRuntime(f"{HERE}:crash", workers=1, deadline_s=10) as rt:
        results = rt.verify_batch([VerifyItem("crash", 0), VerifyItem("fine", 0)])
        assert results[0].status is Status.ERROR and "exit code 3" in results[0].feedback
        assert results[1].correct


def test_exception_is_error_with_reason() -> None:
    with VerifierRuntime(f"{HERE}:boom", workers=1) as rt:
        (result,) = rt.verify_batch([VerifyItem("x", 0)])
    assert result.status is Status.ERROR and "verifier bug" in result.feedback


def test_memory_hog_fails_in_the_worker() -> None:
    with VerifierRuntime(f"{HERE}:hog", workers=1, deadline_s=20, memory_mb=512) as rt:
        (result,) = rt.verify_batch([VerifyItem("x", 0)])
        assert result.status is Status.ERROR and "memory" in result.feedback
        assert rt.verify_batch([VerifyItem("x", 0)])[0].status is Status.ERROR  # replaced, still answering


def test_oversized_item_is_invalid_without_being_sent() -> None:
    with VerifierRuntime(f"{HERE}:echo", workers=1, max_item_bytes=1000) as rt:
        (result,) = rt.verify_batch([VerifyItem("x" * 2000, "x")])
    assert result.status is Status.INVALID


def test_in_process_mode_reports_errors() -> None:
    with VerifierRuntime(f"{HERE}:boom", in_process=True) as rt:
        assert rt.verify_batch([VerifyItem("x", 0)])[0].status is Status.ERROR


def test_isolated_verifier_runs_in_caller_threads() -> None:
    with VerifierRuntime(f"{HERE}:SelfIsolated", workers=2) as rt:
        assert rt.in_process and rt.identity.endswith("@7")
        assert all(r.correct for r in rt.verify_batch([VerifyItem("a", 0), VerifyItem("b", 0)]))


def test_reward_function_for_trl() -> None:
    with VerifierRuntime("math", workers=1) as rt:
        reward = reward_function(rt, reference_column="answer")
        assert reward.__name__ == "math_reward"
        completions = [
            [{"role": "assistant", "content": "so \\boxed{4}"}],
            [{"role": "assistant", "content": "so \\boxed{5}"}],
            [{"role": "assistant", "content": "no idea"}],
        ]
        scores = reward(prompts=["q"] * 3, completions=completions, answer=["4", "4", "4"],
                        question=["2+2?"] * 3, trainer_state=object())
        assert scores == [1.0, 0.0, 0.0]
        assert rt.counts == {"correct": 1, "wrong": 1, "invalid": 1}
        with pytest.raises(KeyError, match="reference_column"):
            reward(prompts=["q"], completions=["\\boxed{1}"], solution=["1"])


def test_bad_options_fail_fast_in_the_caller() -> None:
    with pytest.raises(TypeError, match="bad options"):
        VerifierRuntime("math", {"no_such_option": 1})


def nap(completion: str, reference: Any) -> Verification:
    time.sleep(0.3)
    return Verification.graded(True, completion, details={"pid": os.getpid()})


def test_items_run_in_parallel_across_workers() -> None:
    with VerifierRuntime(f"{HERE}:nap", workers=2, deadline_s=10) as rt:
        rt.verify_batch([VerifyItem("warm", 0)] * 2)
        start = time.monotonic()
        results = rt.verify_batch([VerifyItem(str(i), 0) for i in range(8)])
        elapsed = time.monotonic() - start
    assert all(r.correct for r in results)
    assert elapsed < 8 * 0.3 * 0.75, f"8 x 0.3 s items took {elapsed:.2f}s on 2 workers"


def _refs_on_distinct_slots() -> tuple[str, str]:
    from verifiers.pool import affinity

    refs = [f"ref{i}" for i in range(20)]
    first = refs[0]
    return first, next(r for r in refs if affinity(r) % 2 != affinity(first) % 2)


def test_affinity_queues_keep_a_reference_on_one_slot_and_steal_when_idle() -> None:
    from verifiers.pool import AffinityQueues, affinity

    a, b = _refs_on_distinct_slots()
    items = [VerifyItem(str(i), a if i < 3 else b) for i in range(5)]
    queues = AffinityQueues(items, list(range(5)), 2)
    slot_a = affinity(a) % 2
    assert [queues.take(slot_a) for _ in range(3)] == [0, 1, 2]  # a's items, in order
    assert queues.take(slot_a) == 4  # its queue is empty: steals b's last item
    assert queues.take(1 - slot_a) == 3
    assert not queues


def test_items_sharing_a_reference_go_to_one_worker() -> None:
    a, b = _refs_on_distinct_slots()
    with VerifierRuntime(f"{HERE}:nap", workers=2, deadline_s=10) as rt:
        rt.wait_until_ready()
        assert all(w.ready for w in rt._pool.workers)
        results = rt.verify_batch([VerifyItem(str(i), ref) for ref in (a, b) for i in range(3)])
    pids = [r.details["pid"] for r in results]
    assert len(set(pids[:3])) == 1 and len(set(pids[3:])) == 1 and pids[0] != pids[3]


def oom_once(completion: str, reference: Any) -> Verification:
    if completion == "oom":
        raise MemoryError
    return Verification.graded(True, completion)


def test_out_of_memory_item_does_not_take_the_item_queued_behind_it() -> None:
    with VerifierRuntime(f"{HERE}:oom_once", workers=1, deadline_s=10) as rt:
        rt.wait_until_ready()
        results = rt.verify_batch([VerifyItem("oom", 0), VerifyItem("fine", 0), VerifyItem("also", 0)])
    assert results[0].status is Status.ERROR and "out of memory" in results[0].feedback
    assert results[1].correct and results[2].correct


def test_an_exception_mid_batch_leaves_no_stale_items_for_the_next(monkeypatch) -> None:
    with VerifierRuntime(f"{HERE}:nap", workers=1, deadline_s=10) as rt:
        rt.wait_until_ready()
        calls = {"n": 0}
        real_read = rt._pool._read

        def flaky_read(w, results, queues):
            calls["n"] += 1
            if calls["n"] == 1:
                raise KeyboardInterrupt
            return real_read(w, results, queues)

        monkeypatch.setattr(rt._pool, "_read", flaky_read)
        with pytest.raises(KeyboardInterrupt):
            rt.verify_batch([VerifyItem("a", 0), VerifyItem("b", 0)])
        results = rt.verify_batch([VerifyItem("c", 0)])
    assert results[0].correct and results[0].extracted == "c"


def test_pipeline_limit_follows_the_real_pipe_size() -> None:
    import fcntl

    from verifiers.worker import pipeline_max

    r, w = os.pipe()
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
        assert pipeline_max(w) == 2048
    finally:
        os.close(r)
        os.close(w)
