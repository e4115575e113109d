"""What a task is: a list of :class:`Problem` records per split.

A problem carries the question text (inserted into ``task.prompt_template``), the reference the
verifier grades against, and any extra verifier fields (e.g. ``entry_point`` for code).
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Problem:
    id: str  # stable across runs: used for per-prompt statistics and dedupe
    prompt: str  # the question text, before the prompt template
    reference: Any  # what the verifier grades against (gold answer, tests, ...)
    task: str  # task family name, for per-task metrics
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)  # extra verifier kwargs


class TaskError(ValueError):
    """Bad task configuration or data; the message names the culprit and the fix."""


def cap_split(problems: list[Problem], n: int | None) -> list[Problem]:
    return problems if n is None else problems[:n]
