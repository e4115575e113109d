"""The benchmark's problems: leakage-free splits of three procedural families.

- ``add2``: 2-digit + 2-digit (4,095 distinct problems up to commutativity);
- ``mul2x1``: 2-digit x 1-digit (900 distinct problems);
- ``ood_add3``: 3-digit + 3-digit, an out-of-distribution probe: test only, never trained on.

1-digit families are left out of scoring: 1-digit + has 55 facts and 1-digit x 55, too few to
hold out a test set next to a train set honestly. Each family's test split comes first from its
seeded stream, then a validation split (for the TRL learning-rate sweep and the loop's own
in-run eval) is carved from its train split; :func:`build` checks that no canonical key is in
two of train / val / test / ood before anything is written.

The loop arms read ``train.jsonl`` (train) and ``val.jsonl`` (their in-run "test" split): the
test and OOD problems are never on disk where a training run could read them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from selfimprove.tasks.arithmetic import generate
from selfimprove.tasks.base import Problem, check_disjoint


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    ops: tuple[str, ...]
    digits: tuple[int, int]
    trained: bool  # False: an OOD probe, test only


FAMILIES = (
    Family("add2", ("+",), (2, 2), True),
    Family("mul2x1", ("*",), (2, 1), True),
    Family("ood_add3", ("+",), (3, 3), False),
)


@dataclasses.dataclass
class Splits:
    train: list[Problem]
    val: list[Problem]
    test: list[Problem]  # the trained families' held-out problems
    ood: list[Problem]  # the probe family's problems
    family: dict[str, str]  # problem id -> family name

    def sizes(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for split in ("train", "val", "test", "ood"):
            for p in getattr(self, split):
                out.setdefault(self.family[p.id], {}).setdefault(split, 0)
                out[self.family[p.id]][split] += 1
        return out


def build(*, train: int, val: int, test: int, ood: int, seed: int) -> Splits:
    """Per trained family ``train`` + ``val`` + ``test`` problems; ``ood`` of the probe family."""
    splits = Splits([], [], [], [], {})
    for fam in FAMILIES:
        if fam.trained:
            drawn = generate(list(fam.ops), fam.digits, train + val, test, seed)
            parts = {"test": drawn["test"], "val": drawn["train"][:val], "train": drawn["train"][val:]}
        else:
            parts = {"ood": generate(list(fam.ops), fam.digits, 0, ood, seed)["test"]}
        for split, problems in parts.items():
            getattr(splits, split).extend(problems)
            splits.family.update({p.id: fam.name for p in problems})
    check_disjoint({"train": splits.train, "val": splits.val, "test": splits.test, "ood": splits.ood})
    splits.val = _interleave(splits.val, splits.family)  # so the loop's capped in-run eval sees every family
    return splits


def _interleave(problems: list[Problem], family: dict[str, str]) -> list[Problem]:
    by_family: dict[str, list[Problem]] = {}
    for p in problems:
        by_family.setdefault(family[p.id], []).append(p)
    columns = list(by_family.values())
    return [col[i] for i in range(max(map(len, columns), default=0)) for col in columns if i < len(col)]


def write_training_files(splits: Splits, data_dir: Path) -> None:
    """``train.jsonl`` and ``val.jsonl`` for the loop arms' ``task.name: jsonl``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("train", "val"):
        rows = [{"question": p.prompt, "answer": p.reference} for p in getattr(splits, name)]
        (data_dir / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def as_records(problems: list[Problem], family: dict[str, str]) -> list[dict]:
    return [{"id": p.id, "family": family[p.id], "prompt": p.prompt, "reference": p.reference, "key": p.split_key}
            for p in problems]
