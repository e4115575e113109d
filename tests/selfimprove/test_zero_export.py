"""zero_export's refusals; the export of a real ZeRO-3 checkpoint is tested in test_distributed_training.py."""

from __future__ import annotations

from selfimprove import zero_export


def test_refuses_a_directory_that_is_not_a_deepspeed_checkpoint(tmp_path, capsys):
    assert zero_export.main([str(tmp_path), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("zero_export: ") and "not a DeepSpeed checkpoint" in err and "\n" not in err
