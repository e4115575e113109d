"""Several ranks launched as a user launches them: `launch/torchrun.sh` with a shipped config, no `run.name`.

Issue #28's rehearsal of the multi-GPU path on CPU (gloo). Each test here failed before its fix:

- ranks that name an unnamed run by their own clocks wrote to different run directories when they
  started in different seconds (``test_ranks_started_seconds_apart_share_one_run_name``);
- ``selfimprove eval`` under torchrun prepared the run directory on every rank at once and wrote
  each rank's shard as if it were the whole split (``test_eval_on_two_ranks_scores_the_whole_split``);
- a grpo round whose dataset held fewer prompts than one step needs took 0 optimizer steps and
  reported success (``test_a_grpo_round_takes_its_configured_steps_on_one_rank``), and the store
  kept only rank 0's share of the rollouts the update trained on (the 4-rank test).

The 4-rank test runs ``configs/grpo.yaml`` as shipped (an rft round, then two grpo rounds that share
one optimizer) under ZeRO-3, with only the model swapped for the tiny random one and 4 steps a round.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from tests.launch.helpers import PYTHON, job_env, run, run_two_ranks

# The model swapped for a random one, which may verify nothing in a round: such a round warns, it does not stop.
TINY_MODEL = ["--set", "model.name=tiny-random", "--set", "run.device=cpu", "--set", "train.empty_rounds_limit=0"]

_NAME_PROBE = """
import sys, time
time.sleep(1.1 * int(sys.argv[1]))  # rank 1 starts a second later than rank 0, as ranks on a busy node do
from selfimprove.cli import _load, build_parser
print("RUN_NAME", _load(build_parser().parse_args(["train", "--config", "configs/grpo.yaml"])).run.name)
import torch.distributed as dist
if dist.is_initialized():  # leave together: a rank that tears gloo down while its peer still talks aborts
    dist.barrier()
    dist.destroy_process_group()
"""


def test_ranks_started_seconds_apart_share_one_run_name(tmp_path):
    logs = run_two_ranks(_NAME_PROBE, [], tmp_path)
    names = [next(line.split()[1] for line in log.read_text().splitlines() if line.startswith("RUN_NAME"))
             for log in logs]
    assert names[0] == names[1] and names[0].startswith("grpo-")


def _only_run_dir(out: Path) -> Path:
    runs = [p for p in out.iterdir() if p.is_dir()]
    assert len(runs) == 1, f"ranks wrote {len(runs)} run directories: {sorted(p.name for p in runs)}"
    return runs[0]


def test_eval_on_two_ranks_scores_the_whole_split(tmp_path):
    out = tmp_path / "runs"
    run(["bash", "launch/torchrun.sh", "--nproc", "2", "--", "eval", "--config", "configs/quickstart.yaml",
         *TINY_MODEL, "--set", f"run.output_dir={out}", "--set", "eval.max_problems=6",
         "--set", "sampling.max_new_tokens=8"], tmp_path / "eval.log")
    metrics = json.loads((_only_run_dir(out) / "metrics.json").read_text())
    assert (metrics["problems"], metrics["samples"]) == (6, 6 * 4)  # quickstart.yaml: 4 samples per problem


def _grpo_steps(run_dir: Path) -> list[dict]:
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [m for m in metrics if "train/steps" in m and "train/sampled_fresh" in m]


def test_a_grpo_round_takes_its_configured_steps_on_one_rank(tmp_path):
    out = tmp_path / "runs"
    # Two steps of 4 prompts: in round 2 only a few groups have reward variance, fewer than a step needs.
    run([PYTHON, "-m", "selfimprove.cli", "train", "--config", "configs/grpo.yaml", *TINY_MODEL,
         "--set", f"run.output_dir={out}", "--set", "train.rounds=2", "--set", "train.grpo.steps_per_round=2",
         "--set", "train.eval_before=false", "--set", "train.eval_every=2"], tmp_path / "train.log")
    (grpo,) = _grpo_steps(_only_run_dir(out))
    assert grpo["train/steps"] == 2


def test_four_ranks_run_the_shipped_grpo_config_under_zero3(tmp_path):
    out = tmp_path / "runs"
    run(["bash", "launch/torchrun.sh", "--nproc", "4", "--", "train", "--config", "configs/grpo.yaml", *TINY_MODEL,
         "--set", f"run.output_dir={out}", "--set", "train.grpo.steps_per_round=4", "--set", "train.eval_every=3",
         "--set", "train.keep_checkpoints=3", "--set", "train.deepspeed=configs/deepspeed/zero3.json"],
        tmp_path / "train.log", env=job_env(OMP_NUM_THREADS="1"))
    run_dir = _only_run_dir(out)
    state = json.loads((run_dir / "state.json").read_text())
    assert state["rounds_done"] == 3 and state["completed"][-1] == "3:eval"
    rounds = _grpo_steps(run_dir)
    g = {"steps": 4, "prompts_per_step": 4, "num_generations": 8}  # configs/grpo.yaml, 4 steps a round
    assert [r["train/steps"] for r in rounds] == [g["steps"]] * 2
    # One optimizer over the grpo stretch (rounds 2-3): round 3's trainer resumed round 2's ZeRO-3 state.
    assert [r["train/stretch_steps"] for r in rounds] == [4, 8]
    assert (run_dir / "checkpoints" / "round-002" / "latest").exists()  # DeepSpeed's checkpoint, every rank's shard
    for r, round in zip(rounds, (2, 3)):
        # Every rank's share of the update's rollouts is in the store; what it trained on is 4 steps x 4 prompts
        # x 4 ranks x 8 samples. Per-step refills also store their candidate groups: one swapped in replaces a
        # flat group that is then not trained on, so candidates count once either way.
        rollouts = pq.read_table(run_dir / "traces" / f"round-00{round}" / "rollouts.parquet").num_rows
        assert rollouts == r["train/sampled_fresh"]
        trained = rollouts + r["train/served_cached"] - g["num_generations"] * r["dynamic/candidates"]
        assert trained == g["steps"] * g["prompts_per_step"] * 4 * g["num_generations"]
