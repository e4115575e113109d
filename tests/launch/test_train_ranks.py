"""`selfimprove train` under 2 ranks and ZeRO-3 (launch/torchrun.sh, gloo) books the same traces as 1 rank.

The seeded tiny job (tiny-random, toy verifier, two rft rounds) runs twice: in one process
without DeepSpeed, and on 2 ranks with ``train.rft.extra.deepspeed`` = configs/deepspeed/zero3.json,
where round 2 must wrap the model round 1 trained (``zero_export.consolidated_model`` makes it
plain again) and save a real checkpoint. Sampling is sharded
across ranks, each rank with its own random stream, so the *texts* and verdicts differ between
the runs, and so do the rft losses; what must not differ is the bookkeeping: the same phases
committed to the trace store, in order, with the same number of traces each (every attempt
sampled and verified once, written once by rank 0), one metrics log, one checkpoint per round.
Loss agreement across rank counts is shown on fixed data in tests/selfimprove/test_distributed_training.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.launch.helpers import PYTHON, run
from tests.support import TINY_RANKS, as_sets

def train(run_dir: Path, name: str, nproc: int) -> Path:
    sets = as_sets(TINY_RANKS | {"run.output_dir": str(run_dir), "run.name": name})
    if nproc == 1:
        cmd = [PYTHON, "-m", "selfimprove.cli", "train", *sets]
    else:
        sets += ["--set", "train.rft.extra={deepspeed: configs/deepspeed/zero3.json}"]
        cmd = ["bash", "launch/torchrun.sh", "--nproc", str(nproc), "--", "train", *sets]  # default entry: the CLI
    run(cmd, run_dir / f"{name}.log")
    return run_dir / name


def books(run: Path) -> dict:
    manifest = json.loads((run / "traces" / "manifest.json").read_text())["files"]
    state = json.loads((run / "state.json").read_text())
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {
        "phases": [(e["round"], e["phase"], e["rows"]) for e in manifest],
        "completed": state["completed"],
        "metric_rounds": sorted({m["round"] for m in metrics}),
        "checkpoints": [Path(c).name for c in state["checkpoints"]],
    }


def test_two_ranks_book_the_same_traces_as_one(tmp_path):
    one, two = train(tmp_path, "one", 1), train(tmp_path, "two", 2)
    got, want = books(two), books(one)
    assert got == want
    # 8 held-out problems x sampling.num_samples 4, 16 prompts x train.rft.samples_per_prompt 8
    assert want["phases"] == [(0, "eval", 32), (1, "generate", 128), (1, "eval", 32),
                              (2, "generate", 128), (2, "eval", 32)]
    for run in (one, two):  # every stored row is a graded attempt, none missing or duplicated
        import pyarrow.parquet as pq

        rows = pq.read_table(run / "traces" / "round-001" / "generate.parquet").to_pylist()
        assert all(r["status"] for r in rows)
        assert len({(r["problem_id"], r["sample_index"]) for r in rows}) == len(rows)
    from transformers import AutoModelForCausalLM

    last = AutoModelForCausalLM.from_pretrained(two / "checkpoints" / "round-002")  # gathered, not ZeRO-3 placeholders
    assert all(p.numel() and float(p.detach().abs().sum()) > 0 for p in last.parameters())
