"""STaR rationalization: for prompts with no correct attempt, sample again with the reference
answer as a hint; rationales that verify become training data *without* the hint.

Differences from STaR (Zelikman et al., 2022): STaR gives the hint inside few-shot exemplars;
we append it to the user message (:data:`selfimprove.prompts.HINT_SUFFIX`). A rationale that
mentions the hint ("as the hint says ...") would teach the model to cite a hint it will not
have, so rationales containing the word "hint" are not kept.
"""

from __future__ import annotations

from typing import Sequence

from rollouts.trace import Trace
from selfimprove.metrics import group_by_problem


def unsolved(traces: Sequence[Trace], limit: int | None) -> list[str]:
    """Problem ids with no correct attempt, in first-seen order."""
    ids = [pid for pid, group in group_by_problem(traces).items() if not any(t.verification.correct for t in group)]
    return ids if limit is None else ids[:limit]


def usable(trace: Trace) -> bool:
    """A verified rationale that does not lean on the hint."""
    return trace.verification is not None and trace.verification.correct and "hint" not in trace.completion.lower()
