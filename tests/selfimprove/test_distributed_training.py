"""The tiny SFT job under DeepSpeed on CPU (gloo): 2 ranks must reproduce 1 rank.

Each test starts real launchers (accelerate, launch/torchrun.sh, two torchrun "nodes" on
loopback) around ``selfimprove.dist_train``; with tests/launch/test_slurm.py (ZeRO-2 under sbatch)
they exercise every file in configs/deepspeed. The 1-process reference runs without DeepSpeed,
so agreement is not DeepSpeed agreeing with itself. Losses are Trainer-averaged over ranks;
parameters are compared through the saved Hugging Face models.
"""

from __future__ import annotations

import pytest

from tests.launch import helpers
from tests.launch.helpers import (LOSS_RTOL, PARAM_ATOL, PYTHON, STEPS, assert_matches, dist_train, free_port,
                                  max_param_diff, result, run)
from tests.launch.slurm_cluster import unavailable_reason


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return helpers.reference_run(tmp_path_factory)


@pytest.fixture(scope="module")
def zero3(tmp_path_factory):
    """2 ranks under ZeRO-3, started by `accelerate launch` with configs/accelerate/zero3.yaml, checkpoint every 2 steps."""
    out = tmp_path_factory.mktemp("zero3")
    run([PYTHON, "-m", "accelerate.commands.launch", "--config_file", "configs/accelerate/zero3.yaml",
         "--num_processes", "2", "--main_process_port", str(free_port()),
         *dist_train(out, "--save-steps", "2")], out / "log.txt")
    return out


def test_reference_run_trains(reference):
    res = result(reference)
    assert res["world_size"] == 1 and res["zero_stage"] is None and res["loss_steps"] == [1, 2, 3, 4]
    assert res["losses"][-1] < res["losses"][0]


def test_zero2_two_ranks_match_one_rank(tmp_path, reference):
    if unavailable_reason() is None:
        pytest.skip("covered by tests/launch/test_slurm.py, which runs this ZeRO-2 job through sbatch/srun/torchrun")
    out = tmp_path / "zero2"
    out.mkdir()
    run(["bash", "launch/torchrun.sh", "--nproc", "2", "--entry", "selfimprove.dist_train", "--",
         "--deepspeed", "configs/deepspeed/zero2.json", "--out", str(out)], out / "log.txt")
    assert result(out)["zero_stage"] == 2
    assert_matches(out, reference)


def test_zero3_two_ranks_match_one_rank(zero3, reference):
    assert result(zero3)["zero_stage"] == 3
    assert_matches(zero3, reference)


def test_zero3_checkpoint_exports_the_trained_weights(zero3, tmp_path):
    """DeepSpeed's shards of the last checkpoint, consolidated offline, equal the weights saved online."""
    from selfimprove.zero_export import export

    checkpoint = zero3 / "trainer" / f"checkpoint-{STEPS}"
    exported = export(checkpoint, tmp_path / "exported")
    assert max_param_diff(exported, zero3 / "model") == 0.0

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(exported)  # a plain HF model: no DeepSpeed involved
    tokenizer = AutoTokenizer.from_pretrained(exported)
    assert model.num_parameters() == result(zero3)["params"]["numel"]
    assert tokenizer("1+1=2")["input_ids"]


def test_zero3_resumes_from_checkpoint(zero3, tmp_path):
    """Restarting from the step-2 ZeRO-3 checkpoint (partitioned optimizer state) continues the same run."""
    out = tmp_path / "resumed"
    out.mkdir()
    run(["bash", "launch/torchrun.sh", "--nproc", "2", "--entry", "selfimprove.dist_train", "--",
         "--deepspeed", "configs/deepspeed/zero3.json", "--out", str(out),
         "--resume-from", str(zero3 / "trainer" / "checkpoint-2")], out / "log.txt")
    got, want = result(out), result(zero3)
    assert got["loss_steps"] == [3, 4]
    assert got["losses"] == pytest.approx(want["losses"][2:], rel=LOSS_RTOL)
    assert max_param_diff(out / "model", zero3 / "model") < PARAM_ATOL


def test_two_node_rendezvous_on_loopback_with_offload(tmp_path, reference):
    """Two torchrun launchers (--nnodes 2, one process each) meet through c10d on 127.0.0.1, under ZeRO-3 with CPU offload."""
    out = tmp_path / "two-nodes"
    out.mkdir()
    endpoint = f"127.0.0.1:{free_port()}"
    procs, logs = [], []
    for node in range(2):
        log = tmp_path / f"node{node}.log"
        procs.append(helpers.start(
            [PYTHON, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(node),
             "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "loopback", "--local-addr", "127.0.0.1",
             "--max-restarts", "0",
             *dist_train(out, "--deepspeed", "configs/deepspeed/zero3_offload.json")], log))
        logs.append(log)
    helpers.finish(procs, logs)
    assert result(out)["zero_stage"] == 3
    assert_matches(out, reference, nodes=2)
