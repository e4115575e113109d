"""state.json: paths relative to the run directory, older files still load, damage is named."""

import json
from pathlib import Path

import pytest

from selfimprove.datafiles import FileFormatError
from selfimprove.train.state import TrainState


def test_checkpoints_are_stored_relative_and_resolved_where_the_run_is_now(tmp_path):
    old, new = tmp_path / "old" / "run", tmp_path / "new" / "run"
    old.mkdir(parents=True)
    ckpts = [str(old / "checkpoints" / f"round-00{i}") for i in (1, 2)]
    TrainState(completed=["1:train"], checkpoint=ckpts[-1], checkpoints=ckpts).save(old)

    stored = json.loads((old / "state.json").read_text())
    assert stored["checkpoint"] == "checkpoints/round-002"
    assert stored["checkpoints"] == ["checkpoints/round-001", "checkpoints/round-002"]

    old.rename(tmp_path / "moved")
    new.parent.mkdir()
    (tmp_path / "moved").rename(new)
    state = TrainState.load(new)
    assert state.checkpoint == str(new / "checkpoints" / "round-002")
    assert state.checkpoints == [str(new / "checkpoints" / "round-001"), state.checkpoint]


def test_relative_run_directory_stores_the_same(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = Path("runs") / "r"
    run.mkdir(parents=True)
    TrainState(checkpoint=str(run / "checkpoints" / "round-001"), checkpoints=[str(run / "checkpoints" / "round-001")]).save(run)
    assert json.loads((run / "state.json").read_text())["checkpoint"] == "checkpoints/round-001"
    assert TrainState.load(run).checkpoint == str(run / "checkpoints" / "round-001")


@pytest.mark.parametrize("written_as", ["/somewhere/else/runs/r/checkpoints/round-003", "runs/r/checkpoints/round-003"])
def test_a_version_1_file_with_paths_as_built_then_still_loads(tmp_path, written_as):
    """Before version 2 the file held <run.output_dir>/<run.name>/checkpoints/..., absolute or cwd-relative."""
    (tmp_path / "state.json").write_text(json.dumps({
        "completed": ["0:eval", "1:generate", "1:train"], "global_step": 3, "rounds_done": 0,
        "checkpoint": written_as, "checkpoints": [written_as], "train_wall_s": 1.0, "eval_wall_s": 0.5, "history": []}))
    state = TrainState.load(tmp_path)
    assert state.checkpoint == str(tmp_path / "checkpoints" / "round-003") and state.checkpoints == [state.checkpoint]
    assert state.global_step == 3 and state.completed[-1] == "1:train"


def test_truncated_state_json_names_the_file_and_what_to_do(tmp_path):
    TrainState(completed=["0:eval"]).save(tmp_path)
    text = (tmp_path / "state.json").read_text()
    (tmp_path / "state.json").write_text(text[: len(text) // 2])
    with pytest.raises(FileFormatError) as err:
        TrainState.load(tmp_path)
    message = str(err.value)
    assert str(tmp_path / "state.json") in message and "truncated or not JSON" in message
    assert "restore it from the original run directory" in message and "\n" not in message


def test_truncated_rng_file_names_the_file_and_what_to_do(tmp_path):
    TrainState(completed=["0:eval"]).save(tmp_path)
    data = (tmp_path / "rng.pt").read_bytes()
    (tmp_path / "rng.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"rng\.pt: truncated .* delete it and resume again"):
        TrainState.load(tmp_path)
