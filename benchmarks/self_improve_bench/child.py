"""Each phase of a benchmark in a fresh process: a training run's memory grows round after round,
and a phase that ends gives all of it back."""

from __future__ import annotations

from typing import Any, Callable


def in_child(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a spawned process (``fn`` and its arguments must pickle); its result."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def set_threads(n: int) -> None:
    """``n`` torch intra-op threads, and no tokenizer thread pool beside them."""
    import os

    import torch

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(n)
