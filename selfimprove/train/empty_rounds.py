"""Loud nothing: a round that gives the update nothing to learn from is said, and soon stops the run.

Two things make a round empty: a sampling phase in which the verifier reached no verdict at all
(every trace ``invalid``, ``error`` or ``timeout``: references it cannot parse, answers in a format
it does not read, the wrong verifier), and an update that took 0 optimizer steps (nothing
verified to train on). Each is a warning on the console and a ``warning/*`` line in
``metrics.jsonl``; when ``train.empty_rounds_limit`` rounds in a row were empty (default 1: the
first empty round), the run stops with :class:`NothingToLearnError`, after committing what it
did, so ``--resume`` (with the cause fixed, or the limit raised) continues from there.
"""

from __future__ import annotations

import collections
from typing import Callable, Sequence

from rollouts.trace import Trace

CAUSES = ("references the verifier cannot parse, answers not in the format it reads (task.prompt_template), or the "
          "wrong verifier (verifier.name)")


class NothingToLearnError(RuntimeError):
    """The run stopped: ``train.empty_rounds_limit`` rounds in a row gave the update nothing."""


class EmptyRounds:
    def __init__(self, limit: int, warn: Callable[[int, str, str], None]):
        self.limit = limit  # 0 = only warn
        self.warn = warn  # (round, metric name, message): console and metrics.jsonl
        self.in_a_row = 0
        self.round = 0
        self.reasons: list[str] = []

    def _note(self, round: int, metric: str, reason: str) -> None:
        if round != self.round:
            self.start(round)
        if not self.reasons:
            self.in_a_row += 1
        self.reasons.append(reason)
        self.warn(round, metric, reason)

    def start(self, round: int) -> None:
        """A new round begins; the count goes on only if the previous one was empty too."""
        if round != self.round and not self.reasons:
            self.in_a_row = 0
        self.round, self.reasons = round, []

    def sampled(self, round: int, phase: str, traces: Sequence[Trace]) -> None:
        verdicts = [t.verification for t in traces if t.verification is not None]
        counts = collections.Counter(v.status.value for v in verdicts)
        if verdicts and not counts["correct"] and not counts["wrong"]:
            summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            said = collections.Counter(" ".join(v.feedback.split())[:120] for v in verdicts).most_common(1)[0][0]
            self._note(round, f"warning/{phase}_ungraded",
                       f"round {round}: the verifier graded none of the {phase} phase's {len(traces)} traces "
                       f"({summary}; most said: {said!r}), so there is nothing to learn from. Likely causes: {CAUSES}")
            self.check()  # stop before the round's other phases sample or train on nothing

    def updated(self, round: int, strategy: str, steps: int) -> None:
        if steps == 0:
            self._note(round, "warning/no_update",
                       f"round {round}: the {strategy} update took 0 optimizer steps (nothing verified to train on), "
                       f"the policy is unchanged. Likely causes: a task too hard for the model, or {CAUSES}")

    def check(self) -> None:
        """Stop the run once ``limit`` rounds in a row were empty."""
        if self.limit and self.in_a_row >= self.limit and self.reasons:
            raise NothingToLearnError(
                f"stopped after {self.in_a_row} round(s) in a row with nothing to learn from "
                f"(train.empty_rounds_limit={self.limit}; the warning above says why). What ran is committed: fix the "
                f"cause and start again, or go on with --resume --set train.empty_rounds_limit=0")
