"""A throwaway one-node SLURM cluster on this machine, for tests: munged, slurmctld and slurmd.

Everything lives in one temporary directory under /tmp (not pytest's, which only root may enter,
while munged runs as ``munge``): a fresh munge key and socket, slurm.conf, state, spool and logs,
on free loopback ports; it is removed on exit. Nothing under /etc or /run is touched, so a cluster the
machine may already run is left alone; clients find ours through ``$SLURM_CONF``. The daemons run
in the foreground as children of the test and are stopped (SIGTERM, then SIGKILL) on exit.

Needs root (slurmd starts job steps as the submitting user) and Debian's ``slurm-wlm`` and
``munge`` (launch/setup.sh installs them when run as root). munged refuses to run as root and
wants its socket directory world-searchable and its key private, owned by ``munge``.
Limits: one node named after this host, at 127.0.0.1; no cgroups (proctrack/linuxproc,
task/none), no accounting, no GPUs (gres).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

from tests.launch.helpers import free_port

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo", "scontrol")


def unavailable_reason() -> str | None:
    """Why a local cluster cannot start here, or None when it can."""
    if os.geteuid() != 0:
        return "starting slurmd/slurmctld/munged needs root (slurmd runs job steps as the submitting user)"
    missing = [tool for tool in DAEMONS if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]
    if missing:
        return f"SLURM/munge tools missing ({', '.join(missing)}): run 'bash launch/setup.sh' as root (installs slurm-wlm, munge)"
    return None


def _conf(root: Path, node: str, munge_socket: Path) -> str:
    return "\n".join([
        "ClusterName=selfimprove-test",
        f"SlurmctldHost={node}(127.0.0.1)",
        f"SlurmctldPort={free_port()}",
        f"SlurmdPort={free_port()}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        # A requeued job waits cred_expire seconds (default 120) before it may start again (slurmd
        # refuses the job id until its killed instance's credential expires); the scheduler's
        # periodic pass (sched_interval, default 60 s) then starts it.
        f"AuthInfo=socket={munge_socket},cred_expire=20",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",  # no cgroup hierarchy in a container
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SchedulerType=sched/builtin",
        "SchedulerParameters=sched_interval=5",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "MpiDefault=none",
        "ReturnToService=2",
        f"NodeName={node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN",
        f"PartitionName=local Nodes={node} Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


def _start_munged(root: Path) -> tuple[subprocess.Popen, Path]:
    import pwd

    munge = pwd.getpwnam("munge")
    rundir, keydir = root / "munge-run", root / "munge-key"
    for path, mode in ((rundir, 0o755), (keydir, 0o700)):
        path.mkdir(mode=mode)
        os.chown(path, munge.pw_uid, munge.pw_gid)
    key, sock = keydir / "munge.key", rundir / "munge.socket"
    as_munge = dict(user=munge.pw_uid, group=munge.pw_gid, extra_groups=[])
    made = subprocess.run(["mungekey", "--create", f"--keyfile={key}"], capture_output=True, text=True, **as_munge)
    if made.returncode:
        raise RuntimeError(f"local SLURM cluster: mungekey failed: {made.stderr.strip()}")
    proc = subprocess.Popen(
        ["munged", "--foreground", f"--socket={sock}", f"--key-file={key}", f"--pid-file={rundir / 'munged.pid'}",
         f"--seed-file={keydir / 'seed'}", f"--log-file={keydir / 'munged.log'}"],
        stdout=(root / "log" / "munged.out").open("w"), stderr=subprocess.STDOUT, **as_munge)
    _wait_for(lambda: sock.exists(), 15, "munged socket", root / "log" / "munged.out", proc)
    return proc, sock


def _wait_for(ready, timeout: float, what: str, log: Path, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.2)
    tail = "\n".join(log.read_text().splitlines()[-20:]) if log.exists() else "(no log)"
    raise RuntimeError(f"local SLURM cluster: {what} not ready after {timeout} s; {log}:\n{tail}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def local_cluster() -> Iterator[dict[str, str]]:
    """Start the cluster; yields the environment (``SLURM_CONF``) for sbatch and friends."""
    root = Path(tempfile.mkdtemp(prefix="selfimprove-slurm-"))
    root.chmod(0o755)  # munged (user munge) must reach its socket directory inside
    for sub in ("state", "spool", "log"):
        (root / sub).mkdir()
    node = socket.gethostname().split(".")[0]
    procs: list[subprocess.Popen] = []
    env = dict(os.environ, SLURM_CONF=str(root / "slurm.conf"))
    env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
    try:
        munged, sock = _start_munged(root)
        procs.append(munged)
        (root / "slurm.conf").write_text(_conf(root, node, sock))
        for cmd, log in ((["slurmctld", "-D", "-c"], "slurmctld.out"), (["slurmd", "-D", "-N", node], "slurmd.out")):
            procs.append(subprocess.Popen(cmd, env=env, stdout=(root / "log" / log).open("w"), stderr=subprocess.STDOUT))

        def idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            return out.returncode == 0 and out.stdout.strip() == "idle"

        _wait_for(idle, 60, "node state 'idle'", root / "log" / "slurmd.out", procs[-1])
        yield env
    finally:
        if len(procs) == 3 and procs[1].poll() is None:
            # End any job still running (a failed test) before its daemons go away.
            subprocess.run(["scancel", "--full", "--partition", "local"], env=env, capture_output=True)
            time.sleep(1)
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)  # daemons are gone; a leftover file must not fail the test
