"""Named crash points, for testing that a run killed at any instant resumes exactly.

``failpoint("store-commit")`` does nothing unless the environment sets
``SELFIMPROVE_FAILPOINT=store-commit:N``: then the N-th time (1-based) the process reaches that
point, it dies at once with ``os._exit(137)``, as under ``kill -9``: no cleanup, no ``finally``,
no flushing. The chaos test (tests/selfimprove/train/test_chaos_resume.py) kills a run at each
point and compares the resumed run with an uninterrupted one. Named points are listed in
:data:`POINTS`; a name not listed there is an error, so a renamed point cannot silently never fire.
"""

from __future__ import annotations

import os

POINTS = {
    "sample": "a sampling phase has generated and graded, nothing of it is stored",
    "verify": "a sampling phase has generated on this rank, grading starts",
    "store-commit": "a phase's traces are in the store, state.json does not list the phase",
    "phase-done": "state.json lists a sampling phase, its metrics line may be missing",
    "train-step": "an optimizer step has ended, the update is not committed",
    "checkpoint-write": "the checkpoint's weights are in its temporary directory, not renamed into place",
    "checkpoint-commit": "the checkpoint is in place, state.json does not list the train phase",
    "train-done": "state.json lists the train phase, its metrics line is not written",
    "eval": "the evaluation has sampled and graded, nothing of it is stored",
    "eval-commit": "the evaluation's traces are stored, state.json does not list it",
    "round-end": "the round is done, its throughput line is not written",
}
_counts: dict[str, int] = {}


def failpoint(name: str) -> None:
    if name not in POINTS:
        raise KeyError(f"unknown failpoint {name!r}; known: {', '.join(POINTS)}")
    spec = os.environ.get("SELFIMPROVE_FAILPOINT")
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == int(nth or 1):
        os._exit(137)
