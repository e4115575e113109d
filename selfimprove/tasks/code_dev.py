"""The code family's dev split: where a tuning run compares schedules, never on a test split.

Carved out of the benchmark's *train* split only (:mod:`selfimprove.tasks.code`), so the test
splits ``parametric`` and ``template`` keep every problem, and every test, they have without it:

- ``dev_template``: the benchmark-train instances of :data:`DEV_TEMPLATES`, five trained templates chosen
  by hand (two of integers, two of lists, one of strings, an easy and a harder one where a kind
  has two; none of ``HELD_OUT_TEMPLATES``). Their instances in the ``parametric`` test split stay
  there: a tuning run trains on none of the dev templates' instances and scores on none of those.
- ``dev_parametric``: about a fifth of the other trained templates' train instances, chosen by a
  hash of the name with its own salt (trained templates, parameters a tuning run does not train on).
- ``train`` of a tuning run (``task.dev_split: true``): the rest of the benchmark's train split.

Leakage by function, as in the test splits: a dev instance that a tuning-train solution *or* a
test-split solution computes on the dev instance's edge cases and 200 draws is in no split (a
``twin``). The other way round, no dev solution computes a test instance: dev instances are
benchmark-train instances, which the test splits' own twin check already ruled out. A dev
problem's tests fail every tuning-train and every test-split solution, as a test problem's fail
every train solution.

Limits: dev_template has five templates, so its intervals (templates resampled) are wide; the
choice of the five was made by reading their statements, not by measuring them. A tuning run
trains on fewer templates (20 of the benchmark's 25) and fewer problems than the benchmark, so a
schedule's behaviour can shift between the two.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from selfimprove.tasks import code
from selfimprove.tasks.code_templates import Template

#: Trained templates whose train instances make ``dev_template`` (stratified by kind, as the yaml groups them).
DEV_TEMPLATES = frozenset({
    "square_plus_{p}", "sum_first_multiples_of_{p}",  # integers: a polynomial; a sum with a closed form
    "keep_greater_than_{p}", "clamp_{p}",  # lists: a filter; a two-sided bound on every element
    "count_letter_{p}",  # strings
})


def _name_split(template: Template, p: Any) -> str:
    """The dev split of a benchmark-train instance (before the twin check), or ``train``."""
    if template.name in DEV_TEMPLATES:
        return "dev_template"
    digest = hashlib.sha256(f"code-dev/{template.function(p)}".encode()).digest()  # not code.py's salt
    return "dev_parametric" if digest[0] % 5 == 0 else "train"


def split_of(template: Template, p: Any) -> str:
    """The split of a benchmark-train instance in a tuning run: ``train``, ``dev_parametric``,
    ``dev_template`` or ``twin`` (see the module docstring)."""
    split = _name_split(template, p)
    return "twin" if split != "train" and template.function(p) in _twins() else split


def _benchmark_train() -> list[tuple[Template, Any]]:
    return [(t, p) for t, p in code._instances().values() if code._name_split(t, p) == "train"]


@functools.lru_cache(maxsize=1)
def rivals() -> tuple:
    """The reference solutions of a tuning run's train split and of the test splits: none may pass a
    dev problem's tests, nor compute a dev instance."""
    train = [(t, p) for t, p in _benchmark_train() if _name_split(t, p) == "train"]
    tests = [(t, p) for t, p in code._instances().values() if code.split_of(t, p) in ("parametric", "template")]
    return tuple(code._compiled(t, p) for t, p in train + tests)


@functools.lru_cache(maxsize=1)
def _twins() -> frozenset[str]:
    """Dev instance names that a rival agrees with (seed-free, like code._twins)."""
    return frozenset(t.function(p) for t, p in _benchmark_train()
                     if _name_split(t, p) != "train" and code._agrees(t, p, rivals()))
