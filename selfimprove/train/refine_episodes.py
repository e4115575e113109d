"""GRPO on refinement episodes: attempt -> verifier feedback -> revision, as one completion.

With ``train.grpo.refine``, each of the G completions TRL asks for (through ``rollout_func``)
is an *episode*: the policy's attempt; if the verifier rejects it, the verifier's feedback as a
user turn and the policy's revision. TRL receives the whole episode as one completion with
``env_mask`` 0 on the feedback tokens (they are the environment's, not the policy's: no loss on
them) and 1 on both of the policy's turns. The reward is the verification of the episode's
final answer, graded here once (the attempt's when it was right, else the revision's), so GRPO
pushes up both getting it right first and repairing a wrong attempt from feedback.

Token layout of an episode whose attempt failed::

    prompt_ids | attempt ids (as sampled) | bridge | revision ids (as sampled)
                 env_mask 1                 0        1

``bridge`` is the chat template's text between the attempt and the revision's generation
prompt (end of the assistant turn, the feedback user turn, the next assistant header),
tokenized on its own. The engine sampled the revision from the whole conversation tokenized in
one go, which can split tokens differently at the two seams; the difference is at most a token
or two of the prompt side, never of the policy's own tokens.

Limits:

- one revision turn (as :mod:`selfimprove.train.refine`); an episode is up to twice
  ``sampling.max_new_tokens`` plus the feedback turn long (TRL does not cut ``rollout_func``
  output), so budget memory for that;
- the chat template must render an assistant message verbatim after the generation prompt:
  checked once when the builder is made (templates that trim or drop earlier turns, e.g. ones
  that strip ``<think>`` blocks, fail there with a clear error); a single sample the template
  still re-renders differently (leading or trailing whitespace a template trims) is trained as
  its attempt alone, with a warning;
- the round's groups are chosen by first-attempt reward variance, so groups whose attempts all
  failed, where a revision could add signal, are dropped like any zero-variance group;
- under the random-reward control every verdict is a coin flip (the strategy's runtime is the
  control), so which attempts get revised is random as well.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

from rollouts.engine import RolloutEngine
from rollouts.trace import Trace
from selfimprove.sampling import grade
from selfimprove.train.refine import revision_request
from verifiers.runtime import VerifierRuntime

log = logging.getLogger(__name__)
_PROBE = "PROBE-4f1c 12"


@dataclasses.dataclass
class Episode:
    attempt: Trace
    revision: Trace | None
    completion_ids: list[int]
    logprobs: list[float]
    env_mask: list[int]

    @property
    def score(self) -> float:
        final = self.revision if self.revision is not None else self.attempt
        return final.verification.score


def trainable_tokens(trace: Trace, eos_id: int) -> tuple[list[int], list[float]]:
    """A completion's ids and logprobs as TRL needs them: at least one token (an empty
    completion, from a first-token pad the engine dropped, becomes an immediate EOS)."""
    ids = list(trace.completion_ids)
    if not ids:
        return [eos_id], [0.0]
    return ids, list(trace.logprobs) if trace.logprobs is not None else [0.0] * len(ids)


class RefineEpisodes:
    """Turns groups of first attempts into episodes (sampling and grading the revisions)."""

    def __init__(self, engine: RolloutEngine, runtime: VerifierRuntime, *, truncated: str = "grade") -> None:
        self.engine = engine
        self.runtime = runtime
        self.truncated = truncated  # how attempts and revisions cut off by the length cap are graded
        self.revisions: list[Trace] = []  # every revision sampled, for the trace store
        self.unspliced = 0  # revisions trained as their attempt alone (the template re-rendered it)
        messages = [{"role": "user", "content": "Q"}]
        if self._bridge_text(messages, _PROBE, [*messages, {"role": "assistant", "content": _PROBE},
                                                {"role": "user", "content": "F"}]) is None:
            raise ValueError("train.grpo.refine: this model's chat template does not render an assistant message "
                             "verbatim after the generation prompt (it trims or drops earlier turns), so an episode "
                             "cannot be one sequence; turn train.grpo.refine off for this model")

    def build(self, groups: Sequence[Sequence[Trace]]) -> list[list[Episode]]:
        attempts = [t for group in groups for t in group]
        ungraded = [t for t in attempts if t.verification is None]
        if ungraded:
            grade(ungraded, self.runtime, truncated=self.truncated)
        failed = [t for t in attempts if not t.verification.correct]
        revisions: dict[int, Trace] = {}
        if failed:
            traces = self.engine.generate([revision_request(t) for t in failed], num_samples=1)
            self.engine.seed += 1
            grade(traces, self.runtime, truncated=self.truncated)
            self.revisions += traces
            revisions = {id(a): r for a, r in zip(failed, traces)}
        return [[self._episode(t, revisions.get(id(t))) for t in group] for group in groups]

    def _episode(self, attempt: Trace, revision: Trace | None) -> Episode:
        eos = self.engine.tokenizer.eos_token_id
        ids, logprobs = trainable_tokens(attempt, eos)
        if revision is None:
            return Episode(attempt, None, ids, logprobs, [1] * len(ids))
        bridge = self.bridge_ids(attempt, revision.messages)
        if bridge is None:
            self.unspliced += 1
            log.warning("grpo.refine: the chat template re-renders this attempt differently; training it without "
                        "its revision (%d so far)", self.unspliced)
            return Episode(attempt, None, ids, logprobs, [1] * len(ids))
        rev_ids, rev_logprobs = trainable_tokens(revision, eos)
        return Episode(attempt, revision, ids + bridge + rev_ids, logprobs + [0.0] * len(bridge) + rev_logprobs,
                       [1] * len(ids) + [0] * len(bridge) + [1] * len(rev_ids))

    def _bridge_text(self, messages: list[dict[str, str]], completion: str,
                     revision_messages: list[dict[str, str]]) -> str | None:
        head = self.engine.render(messages) + completion
        full = self.engine.render(revision_messages)
        return full[len(head):] if full.startswith(head) else None

    def bridge_ids(self, attempt: Trace, revision_messages: list[dict[str, str]]) -> list[int] | None:
        """Tokens between the sampled attempt and the revision's first sampled token; ``None``
        when the template does not reproduce the attempt verbatim."""
        tok = self.engine.tokenizer
        tail = self._bridge_text(attempt.messages, attempt.completion, revision_messages)
        if tail is None:
            return None
        if attempt.completion_ids and attempt.completion_ids[-1] in self.engine.eos_ids:
            # The attempt's own end-of-turn token (kept in its ids) is also in the rendered turn.
            end = tok.decode(attempt.completion_ids[-1:])
            if end and tail.startswith(end):
                tail = tail[len(end):]
        return tok(tail, add_special_tokens=False).input_ids
