"""Run a function on several ranks of a gloo process group on this machine (rank-dependent behaviour on CPU).

``run_ranks(fn, 2, *args)`` calls ``fn(rank, *args)`` in 2 spawned processes that share a gloo
process group and torchrun's variables (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``; vLLM's ``external_launcher`` reads them), and returns what each call returned, in
rank order. ``fn`` must be a module-level function (spawn imports it by name) and return something
picklable. A rank that raises fails the call with its traceback; one still running at ``timeout``
is killed (the processes started here, by pid).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch.multiprocessing as mp

from tests.launch.helpers import free_port


def _rank_main(rank: int, fn: Callable[..., Any], world_size: int, port: int, out: str, args: tuple) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port), OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    import torch.distributed as dist

    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    result = fn(rank, *args)  # a rank that raises exits at once: its peers' collectives fail, nothing waits on it
    dist.barrier()
    dist.destroy_process_group()
    Path(out, f"{rank}.pkl").write_bytes(pickle.dumps(result))


def run_ranks(fn: Callable[..., Any], world_size: int, *args: Any, timeout: float = 600) -> list[Any]:
    with tempfile.TemporaryDirectory(prefix="ranks-") as out:
        ctx = mp.start_processes(_rank_main, args=(fn, world_size, free_port(), out, args), nprocs=world_size,
                                 join=False, start_method="spawn")
        deadline = time.monotonic() + timeout
        while not ctx.join(timeout=5):  # raises with a failed rank's traceback (and ends the others)
            if time.monotonic() > deadline:
                for proc in ctx.processes:
                    proc.kill()
                    proc.join()
                raise TimeoutError(f"{fn.__name__} on {world_size} ranks still running after {timeout} s")
        return [pickle.loads(Path(out, f"{rank}.pkl").read_bytes()) for rank in range(world_size)]
