"""A real SLURM job: launch/slurm/train.sbatch submitted with sbatch to a one-node cluster started here.

The job runs 2 ranks of the tiny DeepSpeed ZeRO-2 job through srun -> torchrun (c10d rendezvous
at the node's SLURM address) and must reproduce the 1-process run; where it runs, it is also the
suite's ZeRO-2 equivalence test (tests/selfimprove/test_distributed_training.py runs it otherwise). Skips, saying why, when not root or when slurm-wlm/munge are absent;
under CI (``CI=true``) a root machine without them fails instead, since setup.sh installs them.
"""

from __future__ import annotations

import subprocess

from tests.launch.helpers import REPO, assert_matches, job_env, reference_run, result

JOB_TIMEOUT_S = 420  # the cluster fixture: tests/launch/conftest.py


def test_sbatch_job_trains_two_ranks(cluster, tmp_path, tmp_path_factory):
    out, logs = tmp_path / "job", tmp_path / "logs"
    env = job_env(**{k: v for k, v in cluster.items() if k in ("SLURM_CONF", "PATH")})
    submit = subprocess.run(
        ["sbatch", "--wait", "--nodes", "1", "--time", "10", "--output", str(tmp_path / "batch.out"),
         "launch/slurm/train.sbatch", "--nproc-per-node", "2", "--entry", "selfimprove.dist_train",
         "--logs", str(logs), "--",
         "--deepspeed", "configs/deepspeed/zero2.json", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    batch_log = (tmp_path / "batch.out").read_text() if (tmp_path / "batch.out").exists() else "(no batch log)"
    node_logs = sorted(logs.glob("node-*.log")) if logs.exists() else []
    detail = f"sbatch: {submit.stdout}{submit.stderr}\nbatch log:\n{batch_log}\n" + "\n".join(
        f"--- {p.name} ---\n" + "\n".join(p.read_text().splitlines()[-30:]) for p in node_logs)
    assert submit.returncode == 0, detail
    assert "Submitted batch job" in submit.stdout
    assert "rendezvous 127.0.0.1:" in batch_log and "backend gloo" in batch_log, detail
    assert "finished" in batch_log, detail
    assert [p.name.split("-")[1] for p in node_logs] == ["0"], detail  # one per-node log, node 0
    res = result(out)
    assert (res["world_size"], res["nodes"], res["zero_stage"]) == (2, 1, 2)
    assert_matches(out, reference_run(tmp_path_factory))
