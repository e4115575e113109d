"""A run directory moved (to a bigger disk, say) or copied resumes from where it is now."""

import json
import shutil

import pytest

from selfimprove.config import load_config
from selfimprove.models import ModelLoadError
from selfimprove.train.loop import run_train
from tests.support import tiny_overrides

#: Two rounds of a small tiny-model run: a few seconds on a CPU.
SMALL = {"train.prompts_per_round": 8, "task.num_train": 8, "task.num_test": 4, "train.rft.epochs": 1,
         "sampling.num_samples": 2, "eval.ks": "[1]", "train.eval_before": False}


def config(parent, rounds: int):
    return load_config(None, tiny_overrides(parent, "run", **SMALL, **{"train.rounds": rounds}))


def test_moved_run_resumes_with_more_rounds(tmp_path):
    run_train(config(tmp_path / "small-disk", 1), quiet=True)
    (tmp_path / "big-disk").mkdir()
    shutil.move(tmp_path / "small-disk" / "run", tmp_path / "big-disk" / "run")

    history = run_train(config(tmp_path / "big-disk", 2), resume=True, quiet=True)

    run = tmp_path / "big-disk" / "run"
    state = json.loads((run / "state.json").read_text())
    assert state["completed"] == ["1:generate", "1:train", "1:eval", "2:generate", "2:train", "2:eval"]
    assert state["checkpoints"] == ["checkpoints/round-001", "checkpoints/round-002"]
    assert [h["round"] for h in history] == [1, 2]
    assert (run / "checkpoints" / "round-002" / "model.safetensors").exists()
    assert not (tmp_path / "small-disk" / "run").exists()  # nothing was written at the old place


def test_copy_without_its_checkpoints_names_the_checkpoint_and_state_json(tmp_path):
    run_train(config(tmp_path / "a", 1), quiet=True)
    shutil.copytree(tmp_path / "a" / "run", tmp_path / "b" / "run")
    shutil.rmtree(tmp_path / "b" / "run" / "checkpoints")

    with pytest.raises(ModelLoadError) as err:
        run_train(config(tmp_path / "b", 2), resume=True, quiet=True)
    message = str(err.value)
    assert str(tmp_path / "b" / "run" / "checkpoints" / "round-001") in message
    assert str(tmp_path / "b" / "run" / "state.json") in message and "model.name" not in message
