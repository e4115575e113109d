"""A strategy added as one module plus one registry line runs through the loop unchanged."""

import json
import re
from pathlib import Path

from selfimprove.config import load_config
from selfimprove.train import strategies
from selfimprove.train.loop import run_train
from selfimprove.store import TraceStore
from tests.selfimprove.train.dpo_strategy import VerifiedPairsDPO
from tests.support import tiny_overrides

LOOP = Path(strategies.__file__).parents[1] / "loop.py"


def test_loop_names_no_strategy():
    source = LOOP.read_text()
    named = [name for name in strategies.STRATEGIES if re.search(rf"\b{name}\b", source)]
    assert not named, f"loop.py mentions strategies by name: {named}"


def test_third_strategy_runs_through_the_loop(tmp_path, monkeypatch):
    monkeypatch.setitem(strategies.STRATEGIES, "dpo", VerifiedPairsDPO)  # the one registry line
    cfg = load_config(None, tiny_overrides(tmp_path, "dpo", **{"train.rounds": 1, "train.schedule": "[dpo]"}))
    history = run_train(cfg, quiet=True)
    assert [h["round"] for h in history] == [0, 1] and history[-1]["strategy"] == "dpo"

    run = tmp_path / "dpo"
    info = json.loads((run / "checkpoints" / "round-001" / "round.json").read_text())
    assert info["strategy"] == "dpo" and info["steps"] > 0 and info["metrics"]["train/pairs"] > 0
    traces, kept = TraceStore(run / "traces").read(1, "generate")
    groups = {t.problem_id for t, k in zip(traces, kept) if k}
    assert groups and all(
        {t.verification.correct for t in traces if t.problem_id == pid} == {True, False} for pid in groups)
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("trainer/loss" in m for m in lines)  # the trainer's log dicts reach metrics.jsonl
