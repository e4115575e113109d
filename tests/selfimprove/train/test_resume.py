"""Kill ``selfimprove train`` with SIGKILL mid-round, resume it, and check the books balance."""

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from selfimprove.store import TraceStore
from tests.support import tiny_overrides

REPO = Path(__file__).resolve().parents[3]


def train(run_dir: Path, *extra: str) -> subprocess.Popen:
    sets = [a for o in tiny_overrides(run_dir, "crash", **{"train.rounds": 2, "train.rft.rationalize.enabled": True,
                                                               "train.schedule": "[rft, grpo]",
                                                               "train.grpo.steps_per_round": 2,
                                                               "train.grpo.num_generations": 4,
                                                               "train.grpo.prompts_per_step": 2})
            for a in ("--set", o)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "selfimprove.cli", "train", *sets, *extra], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_phase(run_dir: Path, key: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    state = run_dir / "crash" / "state.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state.exists() and key in json.loads(state.read_text())["completed"]:
            return
        if proc.poll() is not None:
            raise AssertionError(f"training ended before phase {key}:\n{proc.stdout.read()[-3000:]}")
        time.sleep(0.02)
    raise AssertionError(f"phase {key} not reached in {timeout}s")


def test_sigkill_mid_round_then_resume(tmp_path):
    proc = train(tmp_path)
    wait_for_phase(tmp_path, "1:generate", proc)  # round 1 is under way: rationalize / train next
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = json.loads((tmp_path / "crash" / "state.json").read_text())
    assert "2:eval" not in before["completed"]

    resumed = train(tmp_path, "--resume")
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out[-3000:]
    assert "resuming" in out

    state = json.loads((tmp_path / "crash" / "state.json").read_text())
    assert state["completed"] == ["0:eval", "1:generate", "1:rationalize", "1:train", "1:eval",
                                  "2:generate", "2:train", "2:eval"]
    assert state["global_step"] >= before["global_step"]
    steps = [json.loads((tmp_path / "crash" / c / "round.json").read_text())["steps"] for c in state["checkpoints"]]
    assert len(steps) == 2 and state["global_step"] == sum(steps) > 0  # the counter continued, nothing twice

    store = TraceStore(tmp_path / "crash" / "traces")
    pairs = [(e["round"], e["phase"]) for e in store.entries]
    assert len(pairs) == len(set(pairs))  # every phase's traces exactly once
    ds = store.dataset()
    rows = collections.Counter(zip(ds["round"], ds["phase"], ds["problem_id"], ds["sample_index"], ds["hint"]))
    assert max(rows.values()) == 1 and ds.num_rows == sum(e["rows"] for e in store.entries)
    assert {p for _, p in pairs} >= {"eval", "generate", "rationalize"}
    assert not list((tmp_path / "crash" / "traces").glob("round-*/.*"))  # no half-written files left
