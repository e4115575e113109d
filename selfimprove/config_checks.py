"""Values that load but cannot work, refused when the config loads, before any model loads.

The schema checks types, and some sections check their own ranges (``__post_init__``). This pass
walks the loaded config for the rest: a value that would otherwise fail after a round of sampling
(a NaN learning rate, ``train.rft.batch_size=-1``) or train on nonsense without a word (an
infinite learning rate). Each problem names the key, what it must be, and the fix.

What is covered: every float is finite, and the keys in :data:`RULES`. Not covered: values that
work but work badly (a learning rate of 1.0 diverges without being impossible), and options
passed through ``extra`` (TRL checks those by name when the trainer is built).

To add a check: a row in :data:`RULES`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterator

#: (dotted key, test the value must pass, what it must be, the fix). A None value (where the key
#: allows None) is not tested.
RULES: list[tuple[str, Callable[[Any], bool], str, str]] = [
    ("train.rft.learning_rate", lambda v: v > 0, "> 0", "AdamW fine-tuning rates are about 1e-6 to 1e-4, e.g. 2e-5"),
    ("train.grpo.learning_rate", lambda v: v > 0, "> 0", "GRPO rates are about 1e-7 to 1e-5, e.g. 1e-6"),
    ("train.rft.batch_size", lambda v: v >= 1, ">= 1", "the sequences per optimizer step, e.g. 16"),
    ("train.rft.gradient_accumulation_steps", lambda v: v >= 1, ">= 1", "1 unless the batch does not fit in memory"),
    ("train.rft.epochs", lambda v: v > 0, "> 0", "passes over each round's traces, e.g. 2"),
    ("train.rft.max_length", lambda v: v >= 1, ">= 1", "prompt + completion tokens, e.g. 512"),
    ("train.rft.warmup_steps", lambda v: v >= 0, ">= 0", "0 for no warm-up"),
    ("train.rft.weight_decay", lambda v: v >= 0, ">= 0", "0 for none"),
    ("train.rft.max_grad_norm", lambda v: v >= 0, ">= 0", "0 turns clipping off; 1.0 is the usual norm"),
    ("train.rft.rationalize.samples", lambda v: v >= 1, ">= 1", "hinted attempts per prompt, or set "
     "train.rft.rationalize.enabled=false"),
    ("train.rft.rationalize.max_prompts", lambda v: v >= 0, ">= 0 or null", "null rationalizes every failed prompt"),
    ("train.rft.refine.max_prompts", lambda v: v >= 0, ">= 0 or null", "null refines every failed attempt"),
    ("train.grpo.num_generations", lambda v: v >= 2, ">= 2", "GRPO's advantage compares the completions of one "
     "prompt, so a group needs at least two, e.g. 8"),
    ("train.grpo.prompts_per_step", lambda v: v >= 1, ">= 1", "prompts per optimizer step on each rank, e.g. 4"),
    ("train.grpo.steps_per_round", lambda v: v >= 1, ">= 1", "optimizer steps per grpo round, e.g. 8"),
    ("train.grpo.num_iterations", lambda v: v >= 1, ">= 1", "1 (one update per generated batch)"),
    ("train.grpo.beta", lambda v: v >= 0, ">= 0", "0 for no KL penalty"),
    ("train.grpo.epsilon", lambda v: v >= 0, ">= 0", "0.2 is the usual clipping range"),
    ("train.grpo.epsilon_high", lambda v: v >= 0, ">= 0 or null", "null uses train.grpo.epsilon; DAPO uses 0.28"),
    ("train.grpo.refill_passes", lambda v: v >= 0, ">= 0", "0 for no refill"),
    ("train.grpo.importance_cap", lambda v: v > 0, "> 0", "TRL's cap is 3.0; importance_correction=none turns it off"),
    ("train.grpo.warmup_steps", lambda v: v >= 0, ">= 0", "0 for no warm-up, or a share in [0, 1) of the stretch"),
    ("train.empty_rounds_limit", lambda v: v >= 0, ">= 0", "0 only warns; 1 stops at the first empty round"),
    ("train.prompts_per_round", lambda v: v >= 1, ">= 1 or null", "null uses the whole train split"),
    ("train.time_budget_minutes", lambda v: v > 0, "> 0 or null", "null for no limit"),
    ("train.peak_tflops", lambda v: v > 0, "> 0 or null", "null looks it up for known GPUs"),
    ("train.lora.r", lambda v: v >= 1, ">= 1", "the adapter rank, e.g. 16"),
    ("train.lora.alpha", lambda v: v > 0, "> 0", "e.g. 2 x train.lora.r"),
    ("train.lora.dropout", lambda v: 0 <= v < 1, "in [0, 1)", "0 for none"),
    ("eval.max_problems", lambda v: v >= 1, ">= 1 or null", "null evaluates every test problem"),
    ("eval.ks", lambda v: all(k >= 1 for k in v), "a list of k >= 1", "e.g. [1, 8]"),
    ("verifier.workers", lambda v: v >= 1, ">= 1", "verification processes, e.g. 2"),
    ("verifier.deadline_s", lambda v: v > 0, "> 0", "seconds per verification, e.g. 10"),
    ("task.digits", lambda v: v >= 1, ">= 1", "digits per operand, e.g. 1"),
]


def _floats(node: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """(dotted key, value) of every float in the dataclass tree, list items included; not ``extra`` dicts."""
    for f in dataclasses.fields(node):
        key, value = prefix + f.name, getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            yield from _floats(value, key + ".")
        elif isinstance(value, float):
            yield key, value
        elif isinstance(value, list):
            yield from ((f"{key}[{i}]", v) for i, v in enumerate(value) if isinstance(v, float))


def _get(config: Any, key: str) -> Any:
    for part in key.split("."):
        config = getattr(config, part)
    return config


def problems(config: Any) -> list[str]:
    """One line per value of ``config`` (a loaded :class:`~selfimprove.config.Config`) that cannot work."""
    fixes = {key: fix for key, _, _, fix in RULES}
    nonfinite = {key: value for key, value in _floats(config) if not math.isfinite(value)}
    out = [f"'{key}' must be a finite number, got {value}; {fixes.get(key, 'set a finite value')}"
           for key, value in nonfinite.items()]
    for key, test, requirement, fix in RULES:
        value = _get(config, key)
        if value is not None and key not in nonfinite and not test(value):
            out.append(f"'{key}' must be {requirement}, got {value!r}; {fix}")
    return out
