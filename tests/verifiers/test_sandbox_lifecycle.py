"""The caller keeps running: dead workers are replaced, workers outlive the threads and survive
the forks of their caller, and nothing is left running after ``close()``."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.verifiers.sandbox_probes import children_of, processes_of, wait_for
from verifiers.code import Sandbox

pytestmark = pytest.mark.skipif(not Path("/usr/bin/bwrap").exists(), reason="needs bubblewrap")


def test_a_dead_worker_is_replaced():
    with Sandbox(workers=1, timeout_s=5.0) as sandbox:
        assert sandbox.run_tests("def f():\n    return 1\n", "assert f() == 1\n")["results"][-1]["done"]
        worker = sandbox._workers[0]
        os.killpg(worker.proc.pid, 9)
        worker.proc.wait()
        report = sandbox.run_tests("def f():\n    return 1\n", "assert f() == 1\n")
        assert report["results"][-1]["done"] and report["results"][1]["ok"]
        assert sandbox.restarts == 1


def test_a_worker_killed_mid_request_is_retried():
    with Sandbox(workers=1, timeout_s=5.0) as sandbox:
        sandbox.isolation  # started
        killer = threading.Timer(0.3, lambda: os.killpg(sandbox._workers[0].proc.pid, 9))
        killer.start()
        report = sandbox.run_tests("import time\ndef f():\n    time.sleep(0.6)\n    return 1\n", "assert f() == 1\n")
        killer.join()
        assert report["results"][1]["ok"]


def test_workers_outlive_the_thread_that_started_them():
    # bwrap's --die-with-parent follows the starting *thread*: a worker started from a
    # short-lived thread pool must not die (and be restarted) when that pool shuts down.
    with Sandbox(workers=2, timeout_s=5.0) as sandbox:
        for _ in range(2):
            with ThreadPoolExecutor(2) as pool:
                reports = list(pool.map(lambda i: sandbox.run_tests(f"def f():\n    return {i}\n",
                                                                    f"assert f() == {i}\n"), range(4)))
            assert all(r["results"][1]["ok"] for r in reports)
        time.sleep(0.2)
        assert all(w.alive() for w in sandbox._workers.values()) and sandbox.restarts == 0


def test_a_forked_process_can_start_its_own_sandbox():
    # The worker-spawning thread does not survive fork(); a child must get a new one, not hang.
    with Sandbox(workers=1, timeout_s=5.0) as sandbox:
        assert sandbox.run_tests("def f():\n    return 1\n", "assert f() == 1\n")["results"][1]["ok"]
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with Sandbox(workers=1, timeout_s=5.0) as child_box:
                    code = 0 if child_box.run_tests("def f():\n    return 2\n", "assert f() == 2\n")["results"][1]["ok"] else 1
            finally:
                os._exit(code)
        deadline, status = time.monotonic() + 30, None
        while status is None and time.monotonic() < deadline:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            status = wait_status if done else time.sleep(0.05)
        if status is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        assert status == 0, "the forked child hung or failed"


def test_no_processes_leak_after_close():
    before = children_of(os.getpid())
    sandbox = Sandbox(workers=2)
    sandbox.run_tests("def f():\n    return 1\n", "assert f() == 1\n")
    started = children_of(os.getpid()) - before
    uids = {u for w in sandbox._workers.values() for u in (w.hello["solution_uid"], w.hello["harness_uid"])}
    assert started and processes_of(uids)  # a worker, its harness and a standby did start
    sandbox.close()
    assert children_of(os.getpid()) & started == set()
    assert wait_for(lambda: processes_of(uids) == [])  # the jail's processes die with it
