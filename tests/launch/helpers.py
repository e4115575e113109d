"""Helpers for tests that start real launchers: free ports, bounded subprocesses, run results.

Every process is started in its own session so that a timeout can end the launcher together with
the workers it forked (by process group id, never by name).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
LAUNCH_TIMEOUT_S = 420  # 2 shared CPU cores: a 2-rank tiny job takes 25-40 s alone, far more under load
STEPS = 4  # dist_train's default
# Float summation order differs between 1 and 2 ranks (gradient all-reduce); Adam then turns
# 1e-7-level gradient differences into ~1e-6-level weight differences after 4 steps at lr 1e-3.
LOSS_RTOL = 1e-5
PARAM_ATOL = 1e-4


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_env(**extra: str) -> dict[str, str]:
    """The environment for a launched job: offline, quiet, one thread per rank, gloo."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1",
               HF_DATASETS_DISABLE_PROGRESS_BARS="1", TRANSFORMERS_NO_ADVISORY_WARNINGS="1",
               SELFIMPROVE_DIST_BACKEND="gloo", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def start(cmd: Sequence[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(list(cmd), cwd=REPO, env=env or job_env(), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def finish(procs: Sequence[subprocess.Popen], logs: Sequence[Path], timeout: float = LAUNCH_TIMEOUT_S) -> None:
    """Wait for every process; on timeout or failure end all their process groups and fail with the log tails."""
    failed = []
    try:
        for proc in procs:
            proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        failed.append(f"timed out after {timeout} s")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    failed += [f"{p.args[:6]} exited {p.returncode}" for p in procs if p.returncode]
    if failed:
        tails = "\n".join(f"--- {log} ---\n" + "\n".join(log.read_text().splitlines()[-40:]) for log in logs)
        raise AssertionError("; ".join(failed) + "\n" + tails)


def run(cmd: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
    finish([start(cmd, log, env)], [log])


def run_two_ranks(code: str, args: Sequence[str], out: Path, timeout: float = 180) -> list[Path]:
    """``python -c code RANK *args`` as ranks 0 and 1 of a process group on loopback (torchrun's
    variables set); fails with both logs unless both exit 0. Returns the logs, rank order."""
    port = str(free_port())
    logs = [out / f"rank{rank}.log" for rank in (0, 1)]
    procs = [start([PYTHON, "-c", code, str(rank), *args], logs[rank],
                   job_env(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                           MASTER_PORT=port))
             for rank in (0, 1)]
    finish(procs, logs, timeout=timeout)
    return logs


def dist_train(out: Path, *extra: str) -> list[str]:
    """The module invocation of the tiny job, writing to ``out``."""
    return ["-m", "selfimprove.dist_train", "--out", str(out), *extra]


def result(out: Path) -> dict[str, Any]:
    return json.loads((out / "result.json").read_text())


def state_dict(model_dir: Path) -> dict[str, Any]:
    """The tensors of a saved model as ``from_pretrained`` loads them (a ZeRO-2 save also writes the
    tied LM head, a plain save does not; once loaded they are the same model)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_dir).state_dict()


def max_param_diff(a: Path, b: Path) -> float:
    """Largest absolute difference between two saved models' tensors (same keys required)."""
    sa, sb = state_dict(a), state_dict(b)
    assert sa.keys() == sb.keys(), f"different tensors: {sorted(sa.keys() ^ sb.keys())}"
    return max(float((sa[k].float() - sb[k].float()).abs().max()) for k in sa)


_reference: dict[str, Path] = {}


def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 1-process run without DeepSpeed, made once per test session and shared by every module."""
    if "dir" not in _reference:
        out = tmp_path_factory.mktemp("one-rank")
        run([PYTHON, *dist_train(out)], out / "log.txt")
        _reference["dir"] = out
    return _reference["dir"]


def assert_matches(run_dir: Path, reference: Path, *, world_size: int = 2, nodes: int = 1) -> None:
    """``run_dir``'s job reproduced the reference: same losses per step and the same trained weights."""
    import math

    got, want = result(run_dir), result(reference)
    assert (got["world_size"], got["nodes"]) == (world_size, nodes)
    assert len(got["losses"]) == STEPS and all(math.isfinite(x) for x in got["losses"])
    assert got["losses"] == pytest.approx(want["losses"], rel=LOSS_RTOL)
    assert got["params"]["numel"] == want["params"]["numel"]
    assert got["params"]["sum_sq"] == pytest.approx(want["params"]["sum_sq"], rel=LOSS_RTOL)
    # consolidated_model(): the in-memory plain copy holds exactly the weights DeepSpeed trained
    assert got["params_consolidated"] == got["params"]
    assert max_param_diff(run_dir / "model", reference / "model") < PARAM_ATOL
