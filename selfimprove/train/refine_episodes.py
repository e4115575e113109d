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

Limits: one revision turn (as :mod:`selfimprove.train.refine`); the chat template must render
an assistant message verbatim (checked, with a clear error); under the random-reward control
the decision to revise still follows the real verdict (the reward itself is a coin flip).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from rollouts.engine import RolloutEngine
from rollouts.trace import Trace
from selfimprove.evaluate import grade
from selfimprove.train.refine import revision_request
from verifiers.runtime import VerifierRuntime


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


class RefineEpisodes:
    """Turns groups of first attempts into episodes (sampling and grading the revisions)."""

    def __init__(self, engine: RolloutEngine, runtime: VerifierRuntime) -> None:
        self.engine = engine
        self.runtime = runtime
        self.revisions: list[Trace] = []  # every revision sampled, for the trace store

    def build(self, groups: Sequence[Sequence[Trace]]) -> list[list[Episode]]:
        attempts = [t for group in groups for t in group]
        ungraded = [t for t in attempts if t.verification is None]
        if ungraded:
            grade(ungraded, self.runtime, progress=False)
        failed = [t for t in attempts if not t.verification.correct]
        revisions: dict[int, Trace] = {}
        if failed:
            traces = self.engine.generate([revision_request(t) for t in failed], num_samples=1)
            self.engine.seed += 1
            grade(traces, self.runtime, progress=False)
            self.revisions += traces
            revisions = {id(a): r for a, r in zip(failed, traces)}
        return [[self._episode(t, revisions.get(id(t))) for t in group] for group in groups]

    def _episode(self, attempt: Trace, revision: Trace | None) -> Episode:
        ids = list(attempt.completion_ids) or [self.engine.tokenizer.eos_token_id]
        logprobs = list(attempt.logprobs or [0.0] * len(attempt.completion_ids)) or [0.0]
        if revision is None:
            return Episode(attempt, None, ids, logprobs, [1] * len(ids))
        bridge = self.bridge_ids(attempt, revision.messages)
        rev_ids = list(revision.completion_ids) or [self.engine.tokenizer.eos_token_id]
        rev_logprobs = list(revision.logprobs or [0.0] * len(revision.completion_ids)) or [0.0]
        return Episode(attempt, revision, ids + bridge + rev_ids, logprobs + [0.0] * len(bridge) + rev_logprobs,
                       [1] * len(ids) + [0] * len(bridge) + [1] * len(rev_ids))

    def bridge_ids(self, attempt: Trace, revision_messages: list[dict[str, str]]) -> list[int]:
        """Tokens between the sampled attempt and the revision's first sampled token."""
        tok = self.engine.tokenizer
        head = self.engine.render(attempt.messages) + attempt.completion
        full = self.engine.render(revision_messages)
        if not full.startswith(head):
            raise ValueError("train.grpo.refine: this model's chat template does not render an assistant message "
                             "verbatim after the generation prompt, so an episode cannot be spliced into one "
                             "sequence; turn train.grpo.refine off for this model")
        tail = full[len(head):]
        if attempt.completion_ids and attempt.completion_ids[-1] in self.engine.eos_ids:
            # The attempt's own end-of-turn token (kept in its ids) is also in the rendered turn.
            end = tok.decode(attempt.completion_ids[-1:])
            if end and tail.startswith(end):
                tail = tail[len(end):]
        return tok(tail, add_special_tokens=False).input_ids
