"""TRL ``rollout_func`` backed by our rollout engine, optionally serving pre-sampled groups.

TRL's GRPOTrainer calls ``rollout_func(prompts, trainer)`` with this rank's prompts, each prompt
repeated ``num_generations`` times in a row, and expects one completion per entry. We answer
each run of identical prompts with

1. the group the round's generate phase already sampled for that prompt (``reuse``): the
   policy had exactly these weights when the round began, so the first step is on-policy and
   later steps of the round see samples a few optimizer steps old. TRL has no importance
   correction for that without vLLM, so keep ``grpo.steps_per_round`` small; or
2. fresh samples from our engine (shared-prefill KV cache, raw logprobs), recorded as traces.

Every fresh completion is kept in :attr:`fresh`; the strategy grades and returns them so the
store holds every rollout TRL trained on.

With ``episodes`` (``train.grpo.refine``), each completion becomes a refinement episode
(:mod:`selfimprove.train.refine_episodes`): the output then also carries ``env_mask`` (TRL's
mask of environment tokens) and ``episode_score``, the reward :func:`episode_reward` returns.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator, Sequence

from rollouts.engine import RolloutEngine, RolloutRequest
from rollouts.trace import Trace
from selfimprove.tasks.base import Problem
from selfimprove.train.refine_episodes import RefineEpisodes, trainable_tokens


def prompt_key(messages: Sequence[dict[str, str]]) -> str:
    return json.dumps([[m["role"], m["content"]] for m in messages])


class RolloutSource:
    def __init__(self, engine: RolloutEngine, problems_by_key: dict[str, Problem],
                 cached: dict[str, list[Trace]] | None = None, episodes: RefineEpisodes | None = None):
        self.engine = engine
        self.episodes = episodes
        self.problems_by_key = problems_by_key
        self.cached = {k: list(v) for k, v in (cached or {}).items()}
        self.fresh: list[Trace] = []
        self.served_cached = 0

    def _runs(self, prompts: Sequence[Any]) -> list[tuple[str, Any, int]]:
        """Consecutive runs of identical prompts: (key, messages, length)."""
        runs: list[tuple[str, Any, int]] = []
        for messages in prompts:
            key = prompt_key(messages)
            if runs and runs[-1][0] == key:
                runs[-1] = (key, messages, runs[-1][2] + 1)
            else:
                runs.append((key, messages, 1))
        return runs

    def __call__(self, prompts: list[Any], trainer: Any = None) -> dict[str, list]:
        with self._generation_model(trainer):
            # On every rank, before anything else: a rank whose groups all come from the cache samples
            # nothing, yet a vLLM server's weights are pushed by the main process only (others wait).
            self.engine.sync()
            return self._rollouts(prompts)

    @contextlib.contextmanager
    def _generation_model(self, trainer: Any) -> Iterator[None]:
        """Sample from the trainer's weights, gathered once for the whole call under ZeRO-3.

        TRL's ``unwrap_model_for_generation`` gathers the partitioned parameters once and lifts
        DeepSpeed's fetch hooks while we generate; sampling from the partitioned module instead
        would all-gather every layer at every decoding step (huggingface/trl#3858). It also turns
        gradient checkpointing off for generation. Without a trainer (tests) the engine's model is used.
        """
        if trainer is None:
            yield
            return
        from trl.models.utils import unwrap_model_for_generation

        with (unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator) as model,
              _without_zero3_step_hook(trainer.model_wrapped)):
            own, self.engine.model = self.engine.model, model
            try:
                yield
            finally:
                self.engine.model = own

    def _rollouts(self, prompts: list[Any]) -> dict[str, list]:
        tok = self.engine.tokenizer
        runs = self._runs(prompts)
        served: list[list[Trace] | None] = []
        need: dict[int, list[tuple[int, str, Any]]] = {}  # group size -> [(run index, key, messages)]
        for i, (key, messages, n) in enumerate(runs):
            group = self.cached.get(key, [])
            if len(group) >= n:
                served.append(group[:n])
                self.cached[key] = group[n:]
                self.served_cached += n
            else:
                served.append(None)
                need.setdefault(n, []).append((i, key, messages))
        for n, items in need.items():
            requests = [self._request(key, messages) for _, key, messages in items]
            traces = self.engine.generate(requests, num_samples=n)
            self.engine.seed += 1  # the next call must not redraw the same samples
            self.fresh += traces
            for j, (i, _, _) in enumerate(items):
                served[i] = traces[j * n : (j + 1) * n]
        if self.episodes is not None:
            return self._episode_output(runs, served)
        out: dict[str, list] = {"prompt_ids": [], "completion_ids": [], "logprobs": []}
        for (key, messages, n), group in zip(runs, served):
            prompt_ids = tok(self.engine.render(messages), add_special_tokens=False).input_ids
            for t in group:
                ids, logprobs = trainable_tokens(t, tok.eos_token_id)
                out["prompt_ids"].append(prompt_ids)
                out["completion_ids"].append(ids)
                out["logprobs"].append(logprobs)
        return out

    def _episode_output(self, runs: list[tuple[str, Any, int]], served: list[list[Trace]]) -> dict[str, list]:
        out: dict[str, list] = {"prompt_ids": [], "completion_ids": [], "logprobs": [], "env_mask": [],
                                "episode_score": []}
        for (key, messages, n), group in zip(runs, self.episodes.build(served)):
            prompt_ids = self.engine.tokenizer(self.engine.render(messages), add_special_tokens=False).input_ids
            for episode in group:
                out["prompt_ids"].append(prompt_ids)
                out["completion_ids"].append(episode.completion_ids)
                out["logprobs"].append(episode.logprobs)
                out["env_mask"].append(episode.env_mask)
                out["episode_score"].append(episode.score)
        return out

    def _request(self, key: str, messages: Any) -> RolloutRequest:
        problem = self.problems_by_key.get(key)
        if problem is None:
            raise KeyError(f"rollout_func got a prompt that is not in the round's dataset: {key[:120]}")
        return RolloutRequest(problem_id=problem.id, messages=list(messages), reference=problem.reference,
                              task=problem.task, fields=dict(problem.fields))


@contextlib.contextmanager
def _without_zero3_step_hook(engine: Any) -> Iterator[None]:
    """Lift ZeRO-3's start-of-forward hook from the root module while we generate.

    TRL's ``unwrap_model_for_generation`` gathers the weights and removes DeepSpeed's per-module
    fetch hooks, but not the root's ``_start_of_forward_hook`` (``DeepSpeedZeRoOffload.fwd_pre_hook``),
    whose ``reset_step`` runs collectives (``assert_ints_same_as_other_ranks``) on every forward
    until the trace is complete. Our ranks run different numbers of forward passes (row compaction
    stops early; cached groups need none), so with the hook in place one rank waited in a broadcast
    for a peer that had moved on to the trainer's all-gather: a hang (seen on 2 gloo ranks). It is
    put back first in line, as DeepSpeed registered it, before TRL re-adds the fetch hooks.
    """
    optimizer = getattr(engine, "optimizer", None)
    offload = getattr(optimizer, "parameter_offload", optimizer)
    handle = getattr(offload, "fwd_pre_hook", None)
    hook = offload.module._forward_pre_hooks.get(handle.id) if handle is not None else None
    if hook is None:  # not ZeRO-3 (or no such hook in this DeepSpeed version)
        yield
        return
    handle.remove()
    try:
        yield
    finally:
        offload.fwd_pre_hook = offload.module.register_forward_pre_hook(hook, prepend=True)


def episode_reward(prompts: list[Any], completions: list[Any], episode_score: list[float] | None = None,
                   **kwargs: Any) -> list[float]:
    """TRL reward function for refinement episodes: the score graded during the rollout."""
    if episode_score is None or len(episode_score) != len(completions):
        raise ValueError("episode_reward needs rollout_func's episode_score (train.grpo.refine with RolloutSource)")
    return [float(x) for x in episode_score]
