""""Did you mean ...?" for a name that is not among the valid ones: one helper for every error message.

It lives in the lowest package (``verifiers`` imports neither ``rollouts`` nor ``selfimprove``),
so the verifier registry, the config loader, the task and strategy tables all use it.
"""

from __future__ import annotations

import difflib
from typing import Iterable


def closest(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The valid name most like ``name`` (difflib's ratio of at least ``cutoff``), or None."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` to append to an error message, or ``""`` when nothing is close."""
    close = closest(name, choices, cutoff)
    return f"; did you mean '{close}'?" if close else ""
