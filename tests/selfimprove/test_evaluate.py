"""One evaluation path: ``selfimprove eval`` and a training run's evaluation agree."""

import json

import pyarrow.parquet as pq

from selfimprove.cli import main
from selfimprove.config import load_config
from selfimprove.train.loop import run_train
from tests.support import tiny_overrides


def test_eval_and_train_write_the_same_schema_and_numbers(tmp_path, capsys):
    sets = tiny_overrides(tmp_path, "train0", **{"train.rounds": 0})
    run_train(load_config(None, sets), quiet=True)  # round 0: the base model's evaluation only
    eval_sets = [s.replace("run.name=train0", "run.name=eval") for s in sets]
    assert main(["eval", *[a for s in eval_sets for a in ("--set", s)]]) == 0
    capsys.readouterr()

    from_eval = tmp_path / "eval" / "traces" / "eval.parquet"
    from_train = tmp_path / "train0" / "traces" / "round-000" / "eval.parquet"
    assert pq.read_schema(from_eval) == pq.read_schema(from_train)
    a, b = pq.read_table(from_eval).to_pylist(), pq.read_table(from_train).to_pylist()
    # Same seed, same model: the eval command reproduces a run's round-0 evaluation exactly.
    assert [r["completion"] for r in a] == [r["completion"] for r in b] and len(a) == 16 * 8
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    history = json.loads((tmp_path / "train0" / "state.json").read_text())["history"]
    assert metrics["pass@1"] == history[0]["pass@1"]
