"""Loud nothing (#31 item 2): a round with nothing to learn from is a warning, and stops the run
at ``train.empty_rounds_limit`` such rounds in a row, instead of reporting success."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from selfimprove.train.empty_rounds import EmptyRounds, NothingToLearnError
from tests.support import trace
from verifiers.base import Verification

REPO = Path(__file__).resolve().parents[3]


def _train(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    sets = {"model.name": "tiny-random", "run.device": "cpu", "task.name": "jsonl", "task.path": str(data),
            "run.output_dir": str(out), "run.name": "r", "sampling.max_new_tokens": 8, "sampling.num_samples": 2,
            "train.rounds": 2, "train.eval_before": "false", "train.schedule": "[rft]", "train.rft.samples_per_prompt": 2}
    args = [a for k, v in sets.items() for a in ("--set", f"{k}={v}")]
    return subprocess.run([sys.executable, "-m", "selfimprove.cli", "train", *args, *extra], cwd=REPO, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True)


def test_references_the_verifier_cannot_parse_stop_the_run_after_the_first_phase(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):  # "2+" is no number: the math verifier can grade nothing against it
        (data / f"{split}.jsonl").write_text("".join(json.dumps({"question": f"What is {i}+{i}?", "answer": "2+"}) + "\n"
                                                     for i in range(8)))
    failed = _train(data, tmp_path / "runs")
    assert failed.returncode == 2
    errors = [line for line in failed.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "nothing to learn from" in errors[0] and "Traceback" not in failed.stderr
    assert "graded none of the generate phase's 16 traces (16 invalid" in failed.stderr
    assert "reference cannot be graded" in failed.stderr  # what the verifier said
    run = tmp_path / "runs" / "r"
    assert json.loads((run / "state.json").read_text())["completed"] == ["1:generate"]  # stopped right there
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any(m.get("warning/generate_ungraded") == 1 for m in metrics)

    resumed = _train(data, tmp_path / "runs", "--resume", "--set", "train.empty_rounds_limit=0")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert sum(m.get("warning/no_update", 0) for m in metrics) == 2  # warned each round, did not stop


def test_the_limit_counts_empty_rounds_in_a_row():
    warned = []
    rounds = EmptyRounds(2, lambda round, metric, message: warned.append((round, metric)))
    ungraded = [trace("p", "x", None)]
    ungraded[0].verification = Verification.invalid("no answer")
    rounds.start(1)
    rounds.updated(1, "rft", 0)
    rounds.check()  # one empty round: a warning only
    rounds.start(2)
    rounds.updated(2, "rft", 3)  # a round that trained: the count starts again
    rounds.start(3)
    rounds.updated(3, "rft", 0)
    rounds.check()
    rounds.start(4)
    with pytest.raises(NothingToLearnError, match="2 round"):
        rounds.sampled(4, "generate", ungraded)
    assert warned == [(1, "warning/no_update"), (3, "warning/no_update"), (4, "warning/generate_ungraded")]
