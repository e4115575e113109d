"""``strict``: a verifier that also requires the format the prompt asks for, ``\\boxed{answer}``.

The ``math`` verifier reads a final answer wherever it finds one ("the answer is 13", a trailing
number), so a policy is rewarded for a right answer in the wrong format, and an evaluation with
it says nothing about format adherence. ``strict`` wraps another verifier (``math`` by default):
a completion without a non-empty ``\\boxed{...}`` is ``invalid`` (no answer in the requested
format; score 0, counted as invalid, never folded into ``wrong``), and one with a box gets the
inner verifier's verdict (``math`` grades the last box first, so the box is what is graded).

    verifier:
      name: strict
      options: {inner: math, rel_tol: 0.0}   # every option but ``inner`` goes to the inner verifier

Use it as a training reward (``verifier.name: strict``) to reward the format, or compare lenient
and strict pass@1 from the same completions (a correct completion is strictly correct when it
also has a box; ``benchmarks/self_improve.py`` reports both).
"""

from __future__ import annotations

from typing import Any

from verifiers.base import Verification
from verifiers.math.extract import boxed_contents

VERSION = "1"


def has_boxed_answer(completion: str) -> bool:
    """True when the completion has a non-empty ``\\boxed{...}`` (or ``\\fbox{...}``)."""
    return any(box.strip() for box in boxed_contents(completion))


class StrictFormat:
    """Requires a non-empty ``\\boxed{}``, then delegates to ``inner`` (see the module docstring)."""

    name = "strict"

    def __init__(self, inner: Any, inner_name: str) -> None:
        self.inner = inner
        self.inner_name = inner_name
        self.isolated = bool(getattr(inner, "isolated", False))  # the runtime then runs it in process, as the inner
        inner_version = getattr(inner, "version", None)
        # provenance: a change of the inner verifier is a change of this one
        self.version = f"{VERSION}+{inner_name}@{inner_version}" if inner_version else f"{VERSION}+{inner_name}"

    def __repr__(self) -> str:
        return f"StrictFormat(inner={self.inner!r})"

    def __call__(self, completion: str, reference: Any, **fields: Any) -> Verification:
        if not isinstance(completion, str):
            return Verification.invalid(f"completion must be a string, got {type(completion).__name__}")
        if not has_boxed_answer(completion):
            return Verification.invalid("no final answer in the requested format; end with \\boxed{your answer}")
        return self.inner(completion, reference, **fields)


def build(inner: str = "math", **options: Any) -> StrictFormat:
    """``verifier.name: strict``: ``inner`` is any verifier name the registry knows; ``options`` are its own."""
    from verifiers.registry import build_verifier

    if inner == "strict":
        raise ValueError("verifier 'strict': inner must be another verifier, not 'strict'")
    return StrictFormat(build_verifier(inner, **options), inner)
