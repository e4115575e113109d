"""Sampling parameters: a plain dataclass with no heavy imports.

It is also the ``sampling`` section of the run config (``selfimprove.config``), so loading a
config, ``--help`` and config errors never import torch or transformers.
"""

from __future__ import annotations

import dataclasses

from rollouts.fields import field


@dataclasses.dataclass
class SamplingParams:
    """How rollouts are sampled. The one definition: it is also the ``sampling`` section of the
    run config (``selfimprove.config``), so each default and help text lives here only."""

    num_samples: int = field(8, help="Completions per prompt (G / k).")
    temperature: float = field(0.7, help="Sampling temperature; 0 = greedy.")
    top_p: float = field(1.0, help="Nucleus sampling threshold.")
    max_new_tokens: int = field(64, help="Completion length cap in tokens.")
    stop: list[str] = field(factory=list, help="Strings that end a completion (kept in the text).")
    batch_size: int = field(64, help="Sequences per generate() call (prompts x samples).")
    shared_prefill: bool = field(
        True, help="Encode each prompt once and copy its KV cache to the samples (see benchmarks/shared_prefill.py)."
    )
    compact: bool = field(
        True, help="Drop finished sequences from the batch as they stop (rollouts/decode.py); false: transformers' "
        "generate(), whose finished rows keep computing until the chunk's longest one stops."
    )

    def __post_init__(self) -> None:
        if self.num_samples < 1 or self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("num_samples, max_new_tokens and batch_size must be >= 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError("temperature must be >= 0 and top_p in (0, 1]")
