"""TRL ``rollout_func`` backed by our rollout engine, optionally serving pre-sampled groups.

TRL's GRPOTrainer calls ``rollout_func(prompts, trainer)`` with this rank's prompts, each prompt
repeated ``num_generations`` times in a row, once per optimizer step, and expects one completion
per entry. We answer each run of identical prompts with

1. the group the round's generate phase already sampled for that prompt (``cached``), unless it
   is more than ``max_staleness`` optimizer steps old: the policy had the round's starting
   weights then, so at step k of the round the group is k steps stale (its ``staleness``, which
   the trainer's importance correction and the step's log see); or
2. a fresh group from our engine, sampled with the trainer's current weights and graded here.

Dynamic sampling per step (``refill_passes`` with ``reserve``): a group whose rewards are all
equal teaches GRPO nothing, so it is replaced by a group of the next reserve prompt (this
rank's share of the curriculum's next picks), up to ``refill_passes`` extra passes per step;
the groups still flat after that are trained on and counted (``dynamic/flat_left``). A replaced
prompt's ids and reward are what TRL trains on; only TRL's text logs still show the original.

Every completion's reward is computed here (``rollout_reward``, which :func:`rollout_reward`
returns to TRL), so a replacement is scored against its own reference. Every fresh completion
is kept in :attr:`fresh`; the strategy returns them so the store holds every rollout TRL
trained on. Each completion also carries its behaviour log-probabilities (``logprobs``).

With ``episodes`` (``train.grpo.refine``), each completion becomes a refinement episode
(:mod:`selfimprove.train.refine_episodes`): the output then also carries ``env_mask`` (TRL's
mask of environment tokens) and the reward is the episode's score; no per-step refill there.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator, Sequence

from rollouts.engine import RolloutEngine, RolloutRequest
from rollouts.trace import Trace
from selfimprove.sampling import grade
from selfimprove.tasks.base import Problem
from selfimprove.train.curriculum import has_variance
from selfimprove.train.refine_episodes import RefineEpisodes, trainable_tokens
from verifiers.runtime import VerifierRuntime

Run = tuple[str, Any, int]  # (prompt key, messages, completions wanted)


def prompt_key(messages: Sequence[dict[str, str]]) -> str:
    return json.dumps([[m["role"], m["content"]] for m in messages])


class RolloutSource:
    def __init__(self, engine: RolloutEngine, problems_by_key: dict[str, Problem],
                 cached: dict[str, list[Trace]] | None = None, episodes: RefineEpisodes | None = None, *,
                 runtime: VerifierRuntime | None = None, truncated: str = "grade", reserve: Sequence[Any] = (),
                 refill_passes: int = 0, max_staleness: int | None = None, start_step: int = 0):
        self.engine = engine
        self.episodes = episodes
        self.runtime = runtime  # grades fresh groups (None: the caller grades; no rollout_reward then)
        self.truncated = truncated  # how a completion cut off by the length cap is graded (sampling.grade)
        self.problems_by_key = problems_by_key
        self.cached = {k: list(v) for k, v in (cached or {}).items()}
        self.reserve = list(reserve)  # messages of this rank's replacement prompts, in order of use
        self.refill_passes = refill_passes if episodes is None else 0
        self.max_staleness = max_staleness
        self.start_step = start_step  # the trainer's global step when the round began
        self.now = 0  # optimizer steps taken in this round (the trainer's step - start_step)
        self.fresh: list[Trace] = []
        self.served_cached = 0
        self.stale_dropped = 0  # cached completions not served: older than max_staleness
        self.replaced = self.flat_left = 0  # per-step dynamic sampling: groups swapped / still flat
        self.candidates = 0  # groups sampled on reserve prompts (kept or not; all are in ``fresh``)

    def _runs(self, prompts: Sequence[Any]) -> list[Run]:
        """Consecutive runs of identical prompts: (key, messages, length)."""
        runs: list[Run] = []
        for messages in prompts:
            key = prompt_key(messages)
            if runs and runs[-1][0] == key:
                runs[-1] = (key, messages, runs[-1][2] + 1)
            else:
                runs.append((key, messages, 1))
        return runs

    def __call__(self, prompts: list[Any], trainer: Any = None) -> dict[str, list]:
        if trainer is not None:
            self.now = trainer.state.global_step - self.start_step
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
        runs = self._runs(prompts)
        served: list[list[Trace] | None] = []
        staleness: list[int] = []
        for key, messages, n in runs:
            group = self.cached.get(key, [])
            if group and self.max_staleness is not None and self.now > self.max_staleness:
                self.stale_dropped += len(group)  # too old to train on: sampled afresh below
                group = self.cached[key] = []
            if len(group) >= n:
                served.append(group[:n])
                self.cached[key] = group[n:]
                self.served_cached += n
                staleness.append(self.now)
            else:
                served.append(None)
                staleness.append(0)
        missing = [i for i, group in enumerate(served) if group is None]
        for i, group in zip(missing, self._sample([runs[i] for i in missing])):
            served[i] = group
        if self.refill_passes and self.runtime is not None:
            self._refill(runs, served, staleness)
        if self.episodes is not None:
            return self._episode_output(runs, served)
        out: dict[str, list] = {"prompt_ids": [], "completion_ids": [], "logprobs": [], "staleness": []}
        if self.runtime is not None:
            out["rollout_reward"] = []
        for (key, messages, n), group, age in zip(runs, served, staleness):
            prompt_ids = self._prompt_ids(messages)
            for t in group:
                ids, logprobs = trainable_tokens(t, self.engine.tokenizer.eos_token_id)
                out["prompt_ids"].append(prompt_ids)
                out["completion_ids"].append(ids)
                out["logprobs"].append(logprobs)
                out["staleness"].append(age)
                if self.runtime is not None:
                    out["rollout_reward"].append(float(t.verification.score))
        return out

    def _sample(self, runs: Sequence[Run]) -> list[list[Trace]]:
        """A fresh group for each run, from the current weights (graded when we have a runtime)."""
        groups: list[list[Trace]] = [[] for _ in runs]
        by_size: dict[int, list[int]] = {}
        for i, (_, _, n) in enumerate(runs):
            by_size.setdefault(n, []).append(i)
        for n, items in by_size.items():
            traces = self.engine.generate([self._request(runs[i][0], runs[i][1]) for i in items], num_samples=n)
            self.engine.seed += 1  # the next call must not redraw the same samples
            if self.runtime is not None and self.episodes is None:  # episodes grade their own attempts
                grade(traces, self.runtime, truncated=self.truncated)
            self.fresh += traces
            for j, i in enumerate(items):
                groups[i] = traces[j * n : (j + 1) * n]
        return groups

    def _refill(self, runs: list[Run], served: list[list[Trace]], staleness: list[int]) -> None:
        """Swap flat groups for groups of reserve prompts (DAPO's dynamic sampling, per step)."""
        for _ in range(self.refill_passes):
            flat = [i for i, group in enumerate(served) if not has_variance(group)]
            take = min(len(flat), len(self.reserve))
            if not take:
                break
            flat, picks = flat[:take], [self.reserve.pop(0) for _ in range(take)]
            candidates = [(prompt_key(m), m, runs[i][2]) for i, m in zip(flat, picks)]
            self.candidates += len(candidates)
            for i, run, group in zip(flat, candidates, self._sample(candidates)):
                if has_variance(group):
                    runs[i], served[i], staleness[i] = run, group, 0
                    self.replaced += 1
        self.flat_left += sum(not has_variance(group) for group in served)

    def _prompt_ids(self, messages: Any) -> list[int]:
        return self.engine.tokenizer(self.engine.render(messages), add_special_tokens=False).input_ids

    def _episode_output(self, runs: list[Run], served: list[list[Trace]]) -> dict[str, list]:
        out: dict[str, list] = {"prompt_ids": [], "completion_ids": [], "logprobs": [], "env_mask": [],
                                "rollout_reward": []}
        for (key, messages, n), group in zip(runs, self.episodes.build(served)):
            prompt_ids = self._prompt_ids(messages)
            for episode in group:
                out["prompt_ids"].append(prompt_ids)
                out["completion_ids"].append(episode.completion_ids)
                out["logprobs"].append(episode.logprobs)
                out["env_mask"].append(episode.env_mask)
                out["rollout_reward"].append(episode.score)
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


def rollout_reward(prompts: list[Any], completions: list[Any], rollout_reward: list[float] | None = None,
                   **kwargs: Any) -> list[float]:
    """TRL reward function: the score :class:`RolloutSource` graded each completion with."""
    if rollout_reward is None or len(rollout_reward) != len(completions):
        raise ValueError("rollout_reward needs rollout_func's rollout_reward (a RolloutSource with a runtime)")
    return [float(x) for x in rollout_reward]
