"""Two small verifiers: exact string match, and a format check for a ``\\boxed{}`` answer."""

from __future__ import annotations

from typing import Any

from verifiers.base import Verification
from verifiers.math.extract import boxed_contents


class ExactMatchVerifier:
    """Correct when the completion equals the reference after stripping surrounding whitespace.

    Args:
        case_sensitive: compare case-sensitively (default) or not.
    """

    name = "exact"
    version = "1"

    def __init__(self, *, case_sensitive: bool = True) -> None:
        self.case_sensitive = case_sensitive

    def __call__(self, completion: str, reference: Any, **fields: Any) -> Verification:
        if not isinstance(completion, str):
            return Verification.invalid(f"completion must be a string, got {type(completion).__name__}")
        if reference is None:
            return Verification.invalid("no reference to compare with")
        got, want = completion.strip(), str(reference).strip()
        if not self.case_sensitive:
            got, want = got.casefold(), want.casefold()
        ok = got == want
        return Verification.graded(ok, completion.strip()[:2000], "exact match" if ok else "does not match the reference")


class BoxedFormatVerifier:
    """Scores 1 when the completion states a final answer in a non-empty ``\\boxed{...}``.

    A format reward: it ignores the reference and never checks whether the answer is right.
    """

    name = "format"
    version = "1"

    def __call__(self, completion: str, reference: Any = None, **fields: Any) -> Verification:
        if not isinstance(completion, str):
            return Verification.invalid(f"completion must be a string, got {type(completion).__name__}")
        boxes = [b for b in boxed_contents(completion) if b.strip()]
        if boxes:
            return Verification.graded(True, boxes[-1][:2000], "final answer given in \\boxed{}")
        return Verification.graded(False, None, "no final answer in \\boxed{...}; end with \\boxed{your answer}")
