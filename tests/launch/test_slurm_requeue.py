"""A SLURM time-limit warning: launch/slurm/train.sbatch stops the run, requeues itself, and the
requeued start finishes the same run with the books of a run that was never stopped.

The job (2 gloo ranks of the tiny two-round rft run, srun -> torchrun) is submitted to the
one-node cluster of tests/launch/conftest.py. Once round 1's sampling is committed the test sends
what ``#SBATCH --signal=B:USR1@300`` sends before a time limit, SIGUSR1 to the batch shell
(``scancel --signal=USR1 --batch``). The script creates the stop file, both ranks stop at the
same safe point and exit 75, the script requeues the job, and its second start (``--resume
auto``, same ``run.name=slurm-<job id>``) completes the run. Its trace store must hold, phase
by phase, the same traces (texts, verdicts, kept flags) as an uninterrupted 2-rank run of the
same config (launch/torchrun.sh), and the same phases, checkpoints and final step count.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from selfimprove.store import TraceStore
from tests.launch.helpers import REPO, job_env, run
from tests.support import TINY_RANKS, as_sets

JOB_TIMEOUT_S = 420  # per wait: two starts of a 2-rank job on 2 shared cores


def books(run_dir: Path) -> dict:
    store = TraceStore(run_dir / "traces")
    phases = {}
    for entry in store.entries:
        traces, kept = store.read(entry["round"], entry["phase"])
        phases[(entry["round"], entry["phase"])] = sorted(
            (t.problem_id, t.sample_index, t.completion, str(t.verification.status), k) for t, k in zip(traces, kept))
    state = json.loads((run_dir / "state.json").read_text())
    return {"phases": phases, "completed": state["completed"], "global_step": state["global_step"],
            "checkpoints": [Path(c).name for c in state["checkpoints"]]}


def scontrol(job: str, env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(["scontrol", "show", "job", job, "-o"], env=env, capture_output=True, text=True)
    return dict(re.findall(r"(\w+)=(\S*)", out.stdout))


def wait_for(what: str, ready, timeout: float, detail) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s\n{detail()}")
        time.sleep(0.2)


def test_warning_signal_stops_requeues_and_resumes_the_same_run(cluster, tmp_path):
    sets = as_sets(TINY_RANKS | {"run.output_dir": str(tmp_path)})
    run(["bash", "launch/torchrun.sh", "--nproc", "2", "--", "train", *sets, "--set", "run.name=reference"],
        tmp_path / "reference.log")

    env = job_env(**{k: v for k, v in cluster.items() if k in ("SLURM_CONF", "PATH")})
    batch, logs = tmp_path / "batch.out", tmp_path / "logs"
    submit = subprocess.run(
        ["sbatch", "--parsable", "--nodes", "1", "--time", "15", "--output", str(batch),
         "launch/slurm/train.sbatch", "--nproc-per-node", "2", "--logs", str(logs), "--", "train", *sets],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert submit.returncode == 0, submit.stderr
    job = submit.stdout.strip().split(";")[0]
    run_dir = tmp_path / f"slurm-{job}"
    state = run_dir / "state.json"

    def detail() -> str:
        node_logs = sorted(logs.glob("node-*.log")) if logs.exists() else []
        return (f"job: {scontrol(job, env)}\nbatch log:\n{batch.read_text() if batch.exists() else '(none)'}\n"
                + "\n".join(f"--- {p.name} ---\n" + "\n".join(p.read_text().splitlines()[-40:]) for p in node_logs))

    def phase_done(key: str):
        return lambda: state.exists() and key in json.loads(state.read_text())["completed"]

    wait_for("round 1's committed sampling", phase_done("1:generate"), JOB_TIMEOUT_S, detail)
    signalled = subprocess.run(["scancel", "--signal=USR1", "--batch", job], env=env, capture_output=True, text=True)
    assert signalled.returncode == 0, signalled.stderr

    states: list[tuple[float, str]] = []  # (seconds since the signal, "JobState Reason Restarts"): for failures

    def ended() -> bool:
        info = scontrol(job, env)
        now = f"{info.get('JobState')} {info.get('Reason')} {info.get('Restarts')}"
        if not states or states[-1][1] != now:
            states.append((time.monotonic() - t_signal, now))
        return info.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL")

    t_signal = time.monotonic()
    wait_for("the job's end", ended, JOB_TIMEOUT_S, lambda: f"states: {states}\n{detail()}")

    info, text = scontrol(job, env), f"states: {states}\n{detail()}"
    assert info["JobState"] == "COMPLETED" and info.get("Restarts") == "1", text
    log = batch.read_text()
    assert "SIGUSR1 (time limit near)" in log and "requeueing the job" in log, text
    assert f"job {job} (start 2)" in log and "finished (exit code 0)" in log, text
    node_log = "".join(p.read_text() for p in logs.glob("node-*.log"))
    stop = re.search(r"selfimprove train: stopped by the stop file \S+ (before|in) round (\d) (\w+)", node_log)
    assert stop and stop.group(2) in ("1", "2"), text  # after round 1's sampling, before the run's end
    assert "exitcode  : 75" in node_log, text  # torchrun's summary of the stopped ranks
    assert "resuming" in node_log and "--resume auto" in log, text
    assert "stopped by the stop file" in (run_dir / "train.log").read_text()

    got, want = books(run_dir), books(tmp_path / "reference")
    assert got["phases"].keys() == want["phases"].keys()
    for key in want["phases"]:
        assert got["phases"][key] == want["phases"][key], f"{key} differs from the uninterrupted run"
    assert got == want
