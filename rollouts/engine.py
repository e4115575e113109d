"""Batched sampling of G completions per prompt with a Hugging Face causal LM.

``RolloutEngine.generate(requests)`` renders each request's chat messages with the model's
chat template, left-pads, and samples ``num_samples`` completions per prompt in chunks of at
most ``batch_size`` sequences (a prompt's samples always share a chunk).

Shared prefill: ``generate(num_return_sequences=G)`` encodes every prompt G times. With
``shared_prefill`` we run one forward pass over each prompt, copy its KV cache G times, and
let ``generate`` continue from that cache. ``benchmarks/shared_prefill.py`` measures both ways.

Row compaction (``sampling.compact``, the default): a finished sequence leaves the batch the
step it stops (``rollouts/decode.py``), instead of computing padding until the chunk's longest
sample stops as in ``generate``. Stop strings use ``generate``.

Limits: one process, one device; no continuous batching (a chunk's rows are not refilled with
new prompts as others finish), so throughput is far below vLLM's on a GPU.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Sequence

import torch
from tqdm.auto import tqdm
from transformers import LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

from rollouts.decode import CACHE_KWARG, decode
from rollouts.engine_base import EngineBase, RolloutRequest, RolloutStats  # noqa: F401 - RolloutStats re-exported
from rollouts.params import SamplingParams
from rollouts.trace import Trace

log = logging.getLogger(__name__)

class _SampledLogprobRecorder(LogitsProcessor):
    """Records log p(sampled token) under the distribution it was sampled from, one [B, V] step at a time.

    It runs last, after the temperature and top-p warpers (:func:`_warpers`), so ``scores`` here
    are the logits actually sampled from; greedy decoding has no warpers (raw logits). At step t
    the chosen token of step t-1 is ``input_ids[:, -1]``; the final step's token is gathered by
    :meth:`finish`. Storing every step's full distribution (``output_logits=True``) would cost
    steps x B x V floats (~1.6 GB for 128 x 64 x 49k).
    """

    def __init__(self) -> None:
        self.prev: torch.Tensor | None = None  # [B, V] log-softmax of the previous step
        self.picked: list[torch.Tensor] = []  # each [B]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.prev is not None:
            self.picked.append(self.prev.gather(1, input_ids[:, -1:]).squeeze(1))
        self.prev = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, last_tokens: torch.Tensor) -> torch.Tensor:
        """[B, T] logprobs of all sampled tokens, given the last step's tokens [B]."""
        assert self.prev is not None
        self.picked.append(self.prev.gather(1, last_tokens[:, None]).squeeze(1))
        return torch.stack(self.picked, dim=1)


def _warpers(p: SamplingParams) -> list[LogitsProcessor]:
    """Temperature then top-p, as ``generate`` would apply them (and vLLM does), but ours, so the
    recorder can run after them; ``generate`` is then told temperature 1 / top-p 1 / top-k 0 and
    adds none of its own."""
    if p.temperature == 0:
        return []
    out: list[LogitsProcessor] = []
    if p.temperature != 1.0:
        out.append(TemperatureLogitsWarper(p.temperature))
    if p.top_p < 1.0:
        out.append(TopPLogitsWarper(p.top_p))
    return out


def _check_gathered(model) -> None:  # noqa: ANN001 - a (peft-wrapped) PreTrainedModel
    """Refuse to sample from a module whose ZeRO-3 parameters are partitioned (not gathered).

    Sampling from partitioned weights all-gathers every layer at every decoding step, so every
    rank would have to run the same number of decoding steps in the same number of ``generate``
    calls (transformers' ``synced_gpus``); ours do not (refinement only where a rank has failed
    attempts, fresh sampling only for groups not served from the cache), and the job would hang.
    The loop samples from consolidated modules and GRPO's ``rollout_func`` from weights TRL
    gathered once per call, so each rank decodes alone.
    """
    param = next(model.parameters(), None)
    status = getattr(param, "ds_status", None)
    if status is not None and status.name == "NOT_AVAILABLE":
        raise RuntimeError("rollouts: the model's parameters are partitioned by DeepSpeed ZeRO-3; gather them first "
                           "(deepspeed.zero.GatheredParameters, or TRL's unwrap_model_for_generation)")


class RolloutEngine(EngineBase):
    """The ``hf`` backend: transformers models, row-compacted decoding (``generate`` for stop strings)."""

    def __init__(self, model, tokenizer, params: SamplingParams, *, seed: int = 0, policy: str = "base",
                 round: int = 0, progress: bool | None = None, stats: RolloutStats | None = None,
                 compute_dtype: torch.dtype | None = None):
        super().__init__(model, tokenizer, params, seed=seed, policy=policy, round=round, progress=progress,
                         stats=stats)
        self.compute_dtype = compute_dtype  # autocast to it when the weights have another dtype (float32 masters)
        self.tokenizer.padding_side = "left"

    @torch.no_grad()
    def generate(self, requests: Sequence[RolloutRequest], num_samples: int | None = None) -> list[Trace]:
        """Sample ``num_samples`` (default ``params.num_samples``) completions for every request.

        Returns traces ordered by request, then sample index.
        """
        device = next(self.model.parameters()).device
        # Seeded per call, on a fork of torch's generator: the caller's (the trainer's) stays as it was.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            return self._sample(requests, num_samples or self.params.num_samples)

    def _sample(self, requests: Sequence[RolloutRequest], g: int) -> list[Trace]:
        per_chunk = max(1, self.params.batch_size // g)
        was_training = self.model.training
        self.model.eval()
        traces: list[Trace] = []
        start = time.perf_counter()
        bar = tqdm(total=len(requests) * g, desc="generate", unit="seq", disable=self._bar_disabled(), leave=False)
        try:
            for i in range(0, len(requests), per_chunk):
                chunk = requests[i : i + per_chunk]
                with self._autocast():
                    traces += self._generate_chunk(chunk, g)
                bar.update(len(chunk) * g)
                bar.set_postfix(tok_s=f"{sum(t.num_tokens for t in traces) / (time.perf_counter() - start):.0f}")
        finally:
            bar.close()
            self.model.train(was_training)
        self._count(traces, start)
        return traces

    def _autocast(self) -> contextlib.AbstractContextManager:
        """Autocast to ``compute_dtype`` when the weights are float32 masters of a lower-precision policy."""
        param = next(self.model.parameters())
        if self.compute_dtype is None or self.compute_dtype == param.dtype:
            return contextlib.nullcontext()
        return torch.autocast(param.device.type, dtype=self.compute_dtype)

    def _bar_disabled(self) -> bool | None:
        return None if self.progress is None else not self.progress  # None: tqdm hides itself without a TTY

    def _generate_chunk(self, chunk: Sequence[RolloutRequest], g: int) -> list[Trace]:
        p = self.params
        device = self.model.device
        texts = [self.render(r.messages) for r in chunk]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        ids, mask = enc.input_ids, enc.attention_mask  # [P, L]
        _check_gathered(self.model)
        if p.compact and not p.stop:
            warpers = LogitsProcessorList(_warpers(p))  # built once, not per decode step
            new, logprobs = decode(self.model, ids, mask, repeats=g, max_new_tokens=p.max_new_tokens,
                                   warp=lambda scores: warpers(None, scores), sample=p.temperature > 0,
                                   eos_ids=self._eos_ids, pad_id=self.tokenizer.pad_token_id)
        else:
            new, logprobs = self._generate(ids, mask, g)
        return [self._trace(chunk[k // g], k % g, new[k], logprobs[k]) for k in range(new.shape[0])]

    def _generate(self, ids: torch.Tensor, mask: torch.Tensor, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(tokens, logprobs) [P*G, T] from transformers' ``generate`` (stop strings, ``compact=False``)."""
        p = self.params
        recorder = _SampledLogprobRecorder()
        kwargs: dict[str, Any] = dict(
            max_new_tokens=p.max_new_tokens,
            do_sample=p.temperature > 0,
            logits_processor=LogitsProcessorList([*_warpers(p), recorder]),
            pad_token_id=self.tokenizer.pad_token_id,
            return_dict_in_generate=True,
            # Under ZeRO-3 transformers would sync every decoding step across ranks (an all-reduce per
            # token); our weights are gathered (see _check_gathered) and ranks call generate unevenly.
            synced_gpus=False,
        )
        if p.temperature > 0:  # our warpers above do the work; none of generate()'s own
            kwargs.update(temperature=1.0, top_p=1.0, top_k=0)
        if p.stop:
            kwargs.update(stop_strings=list(p.stop), tokenizer=self.tokenizer)
        if p.shared_prefill and g > 1 and ids.shape[1] > 1:
            kwargs[CACHE_KWARG] = self._prefill(ids, mask, g)
        out = self.model.generate(
            input_ids=ids.repeat_interleave(g, dim=0), attention_mask=mask.repeat_interleave(g, dim=0), **kwargs
        )
        new = out.sequences[:, ids.shape[1] :]  # [P*G, T]
        logprobs = recorder.finish(new[:, -1]) if new.shape[1] else new.new_zeros(new.shape, dtype=torch.float)
        return new, logprobs

    def _prefill(self, ids: torch.Tensor, mask: torch.Tensor, g: int):
        """Encode each prompt once (all but its last token) and repeat the cache G times."""
        position_ids = (mask.long().cumsum(-1) - 1).clamp(min=0)  # as generate() derives them
        out = self.model(
            input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=position_ids[:, :-1], use_cache=True
        )
        cache = getattr(out, CACHE_KWARG)  # reading out.past_key_values warns in newer transformers
        cache.batch_repeat_interleave(g)
        return cache

    def _trace(self, request: RolloutRequest, index: int, tokens: torch.Tensor, logprobs: torch.Tensor) -> Trace:
        ids = tokens.tolist()
        length, finish = len(ids), "length"
        pad = self.tokenizer.pad_token_id
        for j, tok in enumerate(ids):
            if tok in self._eos_ids:  # keep the EOS token: SFT on it teaches the model to stop
                length, finish = j + 1, "stop"
                break
            if tok == pad:  # generate() pads a sequence that ended on a stop string
                length, finish = j, "stop"
                break
        ids = ids[:length]
        if finish == "length" and self.params.stop:  # generate() stopped on a stop string at the cap
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            finish = "stop" if any(s in text for s in self.params.stop) else finish
        return self._stamp(request, index, ids, logprobs[:length].tolist(), finish, self.policy)
