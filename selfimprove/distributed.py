"""Rank bookkeeping for torchrun / accelerate / srun launches, and no-ops in a single process.

Launchers set ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (torchrun, accelerate) or ``SLURM_PROCID``,
``SLURM_NTASKS``, ``SLURM_LOCALID`` (plain srun); :func:`world` reads whichever is present.
The process group is initialised on first use: NCCL when CUDA is available, gloo otherwise
(``$SELFIMPROVE_DIST_BACKEND`` overrides), so multi-process tests run on CPU.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import Any, Sequence, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class World:
    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(*names: str, default: int) -> int:
    for name in names:
        if os.environ.get(name):
            return int(os.environ[name])
    return default


def world() -> World:
    return World(
        rank=_env_int("RANK", "SLURM_PROCID", default=0),
        world_size=_env_int("WORLD_SIZE", "SLURM_NTASKS", default=1),
        local_rank=_env_int("LOCAL_RANK", "SLURM_LOCALID", default=0),
    )


def backend() -> str:
    """``$SELFIMPROVE_DIST_BACKEND`` when set (the launch scripts set it from the node's devices),
    else NCCL with CUDA and gloo without."""
    chosen = os.environ.get("SELFIMPROVE_DIST_BACKEND")
    if chosen:
        return chosen
    return "nccl" if torch.cuda.is_available() else "gloo"


def timeout() -> datetime.timedelta:
    """How long a collective waits for the slowest rank: ``$SELFIMPROVE_DIST_TIMEOUT_MIN`` minutes (default 60).

    Ranks reach a collective unevenly: one rank's share of a sampling phase can hold longer
    completions or slower sandboxed programs, and rank 0 alone writes the trace store and the
    checkpoints while the others wait. torch's default (10 minutes for NCCL) would end a healthy
    job there; an hour still ends a truly hung one.
    """
    return datetime.timedelta(minutes=float(os.environ.get("SELFIMPROVE_DIST_TIMEOUT_MIN", "60")))


def init() -> World:
    """Initialise the default process group if launched with several ranks (idempotent).

    With several ranks on CPU it also calls :func:`skip_deepspeed_cpu_kernels` (imports deepspeed,
    a few seconds)."""
    w = world()
    if w.distributed and not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(w.local_rank)
        dist.init_process_group(backend=backend(), rank=w.rank, world_size=w.world_size, timeout=timeout())
    if w.distributed:
        skip_deepspeed_cpu_kernels()  # a multi-rank job may hand the model to DeepSpeed later
    return w


def rank_seed(seed: int, w: World | None = None) -> int:
    """``seed`` made distinct per rank, so ranks sampling for the same prompts do not draw the same samples."""
    return seed + 1_000_003 * (w or world()).rank


def shutdown() -> None:
    """Leave the process group together (a barrier, then destroy it), so no rank tears its
    connections down while a peer still uses them (gloo can abort a process that exits with
    them open) and NCCL does not warn at exit. Call it once the job has succeeded on every rank."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def broadcast_object(obj: T, src: int = 0) -> T:
    """Rank ``src``'s ``obj`` on every rank."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def gather_objects(obj: T) -> list[T]:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not dist.is_initialized():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def shard(items: Sequence[T], w: World | None = None) -> list[T]:
    """This rank's share of ``items`` (contiguous blocks, so concatenating shards in rank order restores the order)."""
    w = w or world()
    per, extra = divmod(len(items), w.world_size)
    start = w.rank * per + min(w.rank, extra)
    return list(items[start : start + per + (w.rank < extra)])


def skip_deepspeed_cpu_kernels() -> None:
    """Stop DeepSpeed from compiling its shared-memory all-reduce kernel on CPU.

    On a machine without CUDA, DeepSpeed's comm backend JIT-compiles ``deepspeed_shm_comm`` the
    first time it starts (about 2 minutes on 2 cores, with a C++ compiler present), although
    training only uses it for inference all-reduces; gloo carries the training collectives.
    DeepSpeed reads one table, ``deepspeed.ops.__compatible_ops__``, to decide, and fills it on
    first access by probing every op with compiler subprocesses; we fill it first with the kernel
    marked unavailable. Call it before the trainer starts DeepSpeed. No-op with CUDA or without
    DeepSpeed.
    """
    if torch.cuda.is_available():
        return
    try:
        import deepspeed.ops
    except ImportError:
        return
    table = deepspeed.ops.__dict__.setdefault("__compatible_ops__", {})
    table["deepspeed_shm_comm"] = False
