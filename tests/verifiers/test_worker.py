"""A verifier worker outlives the signals a cluster sends to every process of a job step."""

import os
import signal
import time

from verifiers.runtime import VerifierRuntime, VerifyItem


def test_sigterm_and_sigusr1_do_not_end_a_worker():
    with VerifierRuntime("exact", workers=1, deadline_s=30) as runtime:
        runtime.wait_until_ready()
        [pid] = runtime.worker_pids()
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            os.kill(pid, sig)
        time.sleep(0.5)  # a worker without the fix is dead by now
        results = runtime.verify_batch([VerifyItem("4", "4"), VerifyItem("5", "4")])
        assert [r.status.value for r in results] == ["correct", "wrong"]
        assert runtime.worker_pids() == [pid]  # the same process: not replaced
