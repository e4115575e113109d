"""A run started by selfimprove 0.1 (old config keys, old store files) resumes under 0.2.

``tests/fixtures/legacy_run`` was written by 0.1 (commit 6bd41a4) with the overrides below in
their 0.1 spelling, and killed after round 2's generate phase: it holds round 1's checkpoint,
the round-0/1 evaluations and round 2's generate traces, sampled for a grpo round.
"""

import json
import shutil
from pathlib import Path

import pytest

from selfimprove.config import ConfigError, load_config
from selfimprove.train.loop import run_train
from selfimprove.store import TraceStore
from tests.support import tiny_overrides

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_run"
SETTINGS = {"train.rounds": 2, "train.rft.rationalize.enabled": True, "train.schedule": "[rft, grpo]",
            "train.grpo.steps_per_round": 2, "train.grpo.num_generations": 4, "train.grpo.prompts_per_step": 2,
            "train.prompts_per_round": 8, "task.num_train": 12, "task.num_test": 4, "train.rft.epochs": 1}


def test_old_config_keys_fail_with_the_new_names():
    with pytest.raises(ConfigError, match="'train.sft' has moved to 'train.rft'"):
        load_config(None, ["train.sft.epochs=1"])


def test_run_of_the_previous_version_resumes(tmp_path, monkeypatch):
    shutil.copytree(FIXTURE, tmp_path / "runs" / "legacy")
    monkeypatch.chdir(tmp_path)  # the 0.1 run recorded run-dir-relative paths under ./runs
    before = json.loads((tmp_path / "runs" / "legacy" / "state.json").read_text())
    assert before["completed"][-1] == "2:generate"

    cfg = load_config(None, tiny_overrides("runs", "legacy", **SETTINGS))
    history = run_train(cfg, resume=True, quiet=True)

    state = json.loads((tmp_path / "runs" / "legacy" / "state.json").read_text())
    assert state["completed"] == before["completed"] + ["2:train", "2:eval"]
    assert [h["round"] for h in history] == [0, 1, 2] and history[:2] == before["history"]
    assert state["global_step"] > before["global_step"]
    store = TraceStore(tmp_path / "runs" / "legacy" / "traces")
    assert store.dataset().num_rows == sum(e["rows"] for e in store.entries)  # old and new files concatenate
    assert (2, "rollouts") in {(e["round"], e["phase"]) for e in store.entries}
