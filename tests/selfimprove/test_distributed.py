"""Rank helpers in one process (no process group) and the DeepSpeed CPU switch."""

from __future__ import annotations

import pytest

from selfimprove import distributed
from selfimprove.distributed import World


def test_world_from_torchrun_then_slurm_variables(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.world() == World(0, 1, 0)
    monkeypatch.setenv("SLURM_PROCID", "3")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    assert distributed.world().rank == 3 and distributed.world().world_size == 4
    monkeypatch.setenv("RANK", "1")  # torchrun's variables win over srun's: srun may start torchrun
    assert distributed.world().rank == 1


@pytest.mark.parametrize("n, size", [(10, 3), (2, 4), (0, 2), (7, 1)])
def test_shards_are_contiguous_disjoint_and_complete(n, size):
    items = list(range(n))
    shards = [distributed.shard(items, World(r, size, r)) for r in range(size)]
    assert [x for s in shards for x in s] == items
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_collectives_are_identity_in_one_process():
    assert distributed.gather_objects({"a": 1}) == [{"a": 1}]
    assert distributed.broadcast_object([1, 2]) == [1, 2]
    distributed.barrier()


def test_backend_override(monkeypatch):
    monkeypatch.setenv("SELFIMPROVE_DIST_BACKEND", "gloo")
    assert distributed.backend() == "gloo"
    monkeypatch.delenv("SELFIMPROVE_DIST_BACKEND")
    assert distributed.backend() in ("nccl", "gloo")


def test_deepspeed_shm_kernel_is_marked_unavailable_on_cpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("the switch is a no-op with CUDA")
    import deepspeed.ops

    distributed.skip_deepspeed_cpu_kernels()
    assert deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] is False
