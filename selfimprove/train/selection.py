"""Rejection sampling: which verified traces become training data.

Keeps traces whose verification is ``correct``, drops duplicates of text already kept for the
same prompt (this round or, with ``accumulate``, any earlier round), and keeps at most
``per_prompt_cap`` per prompt and round, preferring the shortest (a check on the length growth
that repeated self-training tends to cause) or a seeded random choice.

Differs from ReST-EM / STaR: they keep every correct sample (ReST-EM caps per problem too);
dedupe and the shortest-first preference are our additions.
"""

from __future__ import annotations

import random
import re
from typing import Iterable, Sequence

from rollouts.trace import Trace

_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Text used for dedupe: whitespace collapsed, ends stripped."""
    return _SPACE.sub(" ", text).strip()


def dedupe_key(trace: Trace) -> tuple[str, str]:
    # The prompt is part of the key: a refinement turn and a first attempt with equal text are
    # different training examples.
    prompt = "\x1f".join(m["content"] for m in trace.messages[1:]) if trace.turns else ""
    return trace.problem_id, prompt + "\x1e" + normalize(trace.completion)


def select(traces: Sequence[Trace], *, cap: int, dedupe: bool = True, prefer: str = "shortest",
           seen: Iterable[tuple[str, str]] = (), seed: int = 0) -> list[bool]:
    """One flag per trace: True when it is kept for training."""
    if prefer not in ("shortest", "random"):
        raise ValueError(f"prefer must be 'shortest' or 'random', got {prefer!r}")
    rng = random.Random(seed)
    known = set(seen)
    order = list(range(len(traces)))
    rng.shuffle(order)
    if prefer == "shortest":
        order.sort(key=lambda i: traces[i].num_tokens)  # stable: ties stay in shuffled order
    kept = [False] * len(traces)
    per_prompt: dict[str, int] = {}
    for i in order:
        t = traces[i]
        if t.verification is None or not t.verification.correct:
            continue
        if per_prompt.get(t.problem_id, 0) >= cap:
            continue
        key = dedupe_key(t)
        if dedupe and key in known:
            continue
        known.add(key)
        per_prompt[t.problem_id] = per_prompt.get(t.problem_id, 0) + 1
        kept[i] = True
    return kept
