"""What every rollout engine shares: its attributes, EOS ids, chat rendering, trace stamping, counts.

The ``hf`` engine (:class:`rollouts.engine.RolloutEngine`) and the ``vllm`` one
(:class:`rollouts.vllm_engine.VLLMEngine`) differ only in how they turn token prompts into
sampled tokens and log-probabilities; a new backend subclasses :class:`EngineBase` and writes
``generate`` (see :mod:`rollouts.backends`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Sequence

from rollouts.params import SamplingParams
from rollouts.trace import Trace, Turn


@dataclasses.dataclass
class RolloutRequest:
    """One prompt to sample from; every field but ``messages`` is copied onto its traces."""

    problem_id: str
    messages: list[dict[str, str]]
    reference: Any = None
    task: str = ""
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    turns: list[Turn] = dataclasses.field(default_factory=list)
    hint: bool = False


@dataclasses.dataclass
class RolloutStats:
    """Counters of a batch of rollouts: the engine adds generation, whoever grades adds ``verify_s``."""

    sequences: int = 0
    new_tokens: int = 0
    generate_s: float = 0.0
    verify_s: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.generate_s if self.generate_s else 0.0

    def add(self, other: RolloutStats) -> None:
        """Count ``other``'s rollouts in these (a round's counters are the sum of its phases')."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class EngineBase:
    """Attributes callers read or set: ``model`` (the weights sampled from; GRPO's ``rollout_func``
    swaps in the trainer's), ``tokenizer``, ``params``, ``seed`` (the next call's; callers bump it),
    ``policy`` (the name stamped on traces), ``round``, ``progress`` (None: a bar on a terminal only)
    and ``stats`` (shared when the caller passes one)."""

    def __init__(self, model: Any, tokenizer: Any, params: SamplingParams, *, seed: int = 0, policy: str = "base",
                 round: int = 0, progress: bool | None = None, stats: RolloutStats | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.params = params
        self.seed = seed
        self.policy = policy
        self.round = round
        self.progress = progress
        self.stats = stats if stats is not None else RolloutStats()
        eos = model.generation_config.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos if eos is not None else tokenizer.eos_token_id])

    @property
    def eos_ids(self) -> frozenset[int]:
        """Token ids that end a completion (kept as its last token: SFT on it teaches the model to stop)."""
        return frozenset(self._eos_ids)

    def render(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def sync(self) -> None:
        """Make the weights named ``policy`` available to every rank's sampling, even if this rank samples
        nothing now (a vLLM server, pushed by the main process only). Nothing to do for in-process engines."""

    def generate(self, requests: Sequence[RolloutRequest], num_samples: int | None = None) -> list[Trace]:
        """``num_samples`` (default ``params.num_samples``) traces per request, ordered by request then sample."""
        raise NotImplementedError

    def _stamp(self, request: RolloutRequest, index: int, ids: list[int], logprobs: list[float], finish: str,
               policy: str) -> Trace:
        """The trace of one completion: the request, the tokens and how they were sampled, by which policy."""
        p = self.params
        return Trace(
            problem_id=request.problem_id, task=request.task, messages=request.messages,
            completion=self.tokenizer.decode(ids, skip_special_tokens=True), completion_ids=ids, logprobs=logprobs,
            finish_reason=finish, reference=request.reference, fields=request.fields, sample_index=index,
            turns=list(request.turns), temperature=p.temperature, top_p=p.top_p, max_new_tokens=p.max_new_tokens,
            round=self.round, policy=policy, seed=self.seed, hint=request.hint,
        )

    def _count(self, traces: list[Trace], start: float) -> None:
        self.stats.sequences += len(traces)
        self.stats.new_tokens += sum(t.num_tokens for t in traces)
        self.stats.generate_s += time.perf_counter() - start
