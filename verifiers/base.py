"""The verifier contract (version 1).

A verifier is any callable ``verify(completion, reference, **fields) -> Verification``.
It grades one model completion against a reference (a gold answer, test code, ...).
Extra per-item fields (``entry_point``, ``question``, ...) arrive as keyword arguments;
a verifier declares the ones it uses in its signature and ignores the rest.

Grading outcomes are explicit. A verifier that *cannot* grade never returns a silent 0:

- ``correct`` / ``wrong``: graded; ``score`` is in [0, 1] (partial credit allowed, e.g. the
  fraction of unit tests passed).
- ``invalid``: the item cannot be graded (unparseable reference, no answer found in the
  completion, malformed test cases). ``score`` is 0 but the status is counted separately.
- ``error``: the verifier itself crashed; ``feedback`` holds the reason.
- ``timeout``: the verifier ran past its deadline (set by the runtime, not by verifiers).

Keep the contract small: it is what third-party verifiers implement.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Protocol, runtime_checkable

CONTRACT_VERSION = 1


class Status(str, enum.Enum):
    """Outcome of one verification. A ``str`` enum so it serialises as its value."""

    CORRECT = "correct"
    WRONG = "wrong"
    INVALID = "invalid"
    ERROR = "error"
    TIMEOUT = "timeout"

    def __str__(self) -> str:  # so f-strings and JSON show "correct", not "Status.CORRECT"
        return self.value

    @property
    def graded(self) -> bool:
        """True when the verifier reached a verdict (correct or wrong)."""
        return self in (Status.CORRECT, Status.WRONG)


@dataclasses.dataclass(frozen=True)
class Verification:
    """The result of grading one completion.

    Attributes:
        score: reward in [0, 1]; 0 for every non-graded status.
        status: see :class:`Status`.
        extracted: the answer the verifier read from the completion (``None`` if none).
        feedback: human-readable explanation, shown to the model in refinement turns.
        details: optional verifier-specific data (per-test results, ...); JSON-serialisable.
    """

    score: float
    status: Status
    extracted: str | None = None
    feedback: str = ""
    details: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Verification.score must be in [0, 1], got {self.score}")
        if not self.status.graded and self.score != 0.0:
            raise ValueError(f"a {self.status} verification must have score 0, got {self.score}")

    @property
    def correct(self) -> bool:
        return self.status is Status.CORRECT

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "score": self.score,
            "extracted": self.extracted,
            "feedback": self.feedback,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Verification:
        return cls(
            score=float(row["score"]),
            status=Status(row["status"]),
            extracted=row.get("extracted"),
            feedback=row.get("feedback") or "",
            details=row.get("details"),
        )

    # Small constructors keep verifier code readable.
    @classmethod
    def graded(cls, ok: bool, extracted: str | None, feedback: str = "", **kw: Any) -> Verification:
        return cls(1.0 if ok else 0.0, Status.CORRECT if ok else Status.WRONG, extracted, feedback, **kw)

    @classmethod
    def invalid(cls, feedback: str, extracted: str | None = None) -> Verification:
        return cls(0.0, Status.INVALID, extracted, feedback)

    @classmethod
    def error(cls, feedback: str) -> Verification:
        return cls(0.0, Status.ERROR, None, feedback)

    @classmethod
    def timeout(cls, seconds: float) -> Verification:
        return cls(0.0, Status.TIMEOUT, None, f"verification exceeded its {seconds:g}s deadline")


@runtime_checkable
class Verifier(Protocol):
    """Anything callable as ``verify(completion, reference, **fields) -> Verification``.

    Class-based verifiers may also set ``name`` and ``version`` attributes; they are recorded
    with every trace as provenance.
    """

    def __call__(self, completion: str, reference: Any, **fields: Any) -> Verification: ...
