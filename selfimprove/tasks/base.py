"""What a task is: a list of :class:`Problem` records per split, and leakage-free splitting.

A problem carries the question text (inserted into ``task.prompt_template``), the reference the
verifier grades against, and any extra verifier fields (e.g. ``entry_point`` for code).

Held-out means held out *up to equivalence*. A procedural family gives each problem a canonical
``key`` that every equivalent rewrite shares (``8 + 5`` and ``5 + 8``; ``2x + 4 = 10`` and
``-x - 2 = -5``); :func:`draw_distinct` keeps one problem per key, and :func:`head_split` /
:func:`check_disjoint` refuse a split in which a key sits on both sides. Without this a "held-out"
problem can be the twin of a trained one, and STaR hints (the answers of train prompts) hand the
model test answers.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence


@dataclasses.dataclass(frozen=True)
class Problem:
    id: str  # stable across runs: used for per-prompt statistics and dedupe
    prompt: str  # the question text, before the prompt template
    reference: Any  # what the verifier grades against (gold answer, tests, ...)
    task: str  # task family name, for per-task metrics
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)  # extra verifier kwargs
    key: str | None = None  # canonical identity: equivalent problems share it (None: the id is the key)

    @property
    def split_key(self) -> str:
        """What must not appear in two splits: :attr:`key`, else :attr:`id`."""
        return self.key if self.key is not None else self.id


class TaskError(ValueError):
    """Bad task configuration or data; the message names the culprit and the fix."""


class LeakageError(TaskError):
    """A canonical key is in two splits, so the held-out split is not held out."""


def cap_split(problems: list[Problem], n: int | None) -> list[Problem]:
    return problems if n is None else problems[:n]


def check_disjoint(splits: Mapping[str, Sequence[Problem]]) -> None:
    """Raise :class:`LeakageError` when any :attr:`Problem.split_key` occurs in two of ``splits``.

    Raises rather than ``assert``s, so the check also holds under ``python -O``.
    """
    owner: dict[str, str] = {}
    shared: dict[tuple[str, str], list[str]] = {}
    for name, problems in splits.items():
        for key in {p.split_key for p in problems}:
            if key in owner and owner[key] != name:
                shared.setdefault((owner[key], name), []).append(key)
            owner.setdefault(key, name)
    if shared:
        parts = [f"{a}/{b}: {len(keys)} key(s), e.g. {sorted(keys)[:3]}" for (a, b), keys in shared.items()]
        raise LeakageError("the same problem (up to equivalence) is in two splits: " + "; ".join(parts))


def draw_distinct(draw: Callable[[], Problem], want: int, max_draws: int) -> list[Problem]:
    """Call ``draw()`` until ``want`` problems with distinct keys (the first of each key is kept)
    or ``max_draws`` calls; the result is in draw order."""
    seen: set[str] = set()
    out: list[Problem] = []
    for _ in range(max_draws):
        if len(out) >= want:
            break
        p = draw()
        if p.split_key not in seen:
            seen.add(p.split_key)
            out.append(p)
    return out


def head_split(problems: Sequence[Problem], n: int, first: str = "test", rest: str = "train") -> dict[str, list[Problem]]:
    """The first ``n`` problems under ``first``, the others under ``rest``; checked disjoint.

    With problems from :func:`draw_distinct` the first split depends only on the draw order and
    ``n``, not on how many problems follow (so a test split does not move with ``num_train``).
    """
    n = min(max(n, 0), len(problems))
    out = {first: list(problems[:n]), rest: list(problems[n:])}
    check_disjoint(out)
    return out
