"""A non-finite update is never committed (#31 item 1): the run stops with one line naming the
round, the step and the likely cause, the previous checkpoint stays the policy, and ``--resume``
with a sane learning rate continues."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import as_sets, tiny_overrides

REPO = Path(__file__).resolve().parents[3]


def _train(run_dir: Path, rounds: int, lr: float, *extra: str) -> subprocess.CompletedProcess:
    sets = dict(o.split("=", 1) for o in tiny_overrides(run_dir, "nan", **{
        "train.rounds": rounds, "train.rft.learning_rate": lr, "train.rft.epochs": 2, "train.eval_before": False}))
    return subprocess.run([sys.executable, "-m", "selfimprove.cli", "train", *as_sets(sets), *extra], cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=600)


def test_a_non_finite_update_keeps_the_previous_checkpoint_and_resume_continues(tmp_path):
    assert _train(tmp_path, 1, 5e-3).returncode == 0
    run = tmp_path / "nan"
    # 1e39 is a finite float, but one Adam step of that size overflows float32 weights.
    failed = _train(tmp_path, 2, 1e39, "--resume")
    assert failed.returncode == 2
    errors = [line for line in failed.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "round 2 (rft)" in errors[0] and "not committed" in errors[0], failed.stderr[-2000:]
    assert "train.rft.learning_rate=1e+39 is likely too high" in errors[0] and "Traceback" not in failed.stderr
    state = json.loads((run / "state.json").read_text())
    assert state["checkpoint"].endswith("round-001") and "2:train" not in state["completed"]
    assert not (run / "checkpoints" / "round-002").exists()

    resumed = _train(tmp_path, 2, 5e-3, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    state = json.loads((run / "state.json").read_text())
    assert state["completed"][-1] == "2:eval" and state["checkpoint"].endswith("round-002")
