"""The run directory: reused after a start that failed before its first phase, refused otherwise."""

import pytest

from selfimprove import rundir
from selfimprove.config import load_config


def config(tmp_path, *extra):
    return load_config(None, [f"run.output_dir={tmp_path}", "run.name=r", *extra])


def test_directory_of_a_start_that_failed_before_its_first_phase_is_reused(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "config.yaml").write_text("old: config\n")
    (run / "train.log").write_text("ERROR the run stopped: FileFormatError ...\n")
    (run / ".config.yaml.tmp99").write_text("half")
    assert rundir.prepare(config(tmp_path, "train.rounds=5")) == run
    assert "rounds: 5" in (run / "config.yaml").read_text()
    assert "the run stopped" in (run / "train.log").read_text()  # the earlier failure stays readable


@pytest.mark.parametrize("output", ["state.json", "metrics.json", "traces"])
def test_directory_with_outputs_is_refused(tmp_path, output):
    run = tmp_path / "r"
    run.mkdir()
    (run / "config.yaml").write_text("old: config\n")
    (run / output).mkdir() if output == "traces" else (run / output).write_text("{}")
    with pytest.raises(rundir.RunDirError, match="already exists; pass --resume"):
        rundir.prepare(config(tmp_path))
    assert (run / "config.yaml").read_text() == "old: config\n"


def test_remove_leftovers_looks_in_the_run_its_checkpoints_and_its_traces(tmp_path):
    for d in ("", "checkpoints", "traces"):
        (tmp_path / d).mkdir(exist_ok=True)
    half = [tmp_path / ".rng.pt.tmp12", tmp_path / "checkpoints" / ".round-003.tmp12", tmp_path / "traces" / ".manifest.json.tmp12"]
    for p in half:
        p.mkdir() if "round" in p.name else p.write_text("")
    (tmp_path / "checkpoints" / "round-002").mkdir()
    assert sorted(rundir.remove_leftovers(tmp_path)) == sorted(half)
    assert not any(p.exists() for p in half) and (tmp_path / "checkpoints" / "round-002").exists()
