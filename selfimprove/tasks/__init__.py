"""Task families, by name. :func:`load_task` returns ``{"train": [...], "test": [...]}``.

To add a family: write a module returning ``dict[str, list[Problem]]`` and add a branch to
``FAMILIES`` below. A procedural family gives each problem a canonical ``Problem.key`` shared by
its equivalent rewrites and builds its splits with :func:`~selfimprove.tasks.base.head_split` (or
calls :func:`~selfimprove.tasks.base.check_disjoint`), so no key is in two splits;
``tests/selfimprove/test_task_leakage.py`` checks this for every procedural family it lists.
"""

from __future__ import annotations

from typing import Callable

from selfimprove.config import TaskConfig
from selfimprove.tasks import arithmetic, equations, loaders
from selfimprove.tasks.base import LeakageError, Problem, TaskError, check_disjoint


def _loaded(cfg: TaskConfig) -> dict[str, list[Problem]]:
    args = (cfg.question_column, cfg.answer_column, cfg.answer_format)
    return {
        "train": loaders.load(cfg.name, cfg.path, cfg.train_split, *args),
        "test": loaders.load(cfg.name, cfg.path, cfg.test_split, *args),
    }


def _code(cfg: TaskConfig) -> dict[str, list[Problem]]:
    from selfimprove.tasks import code

    return {
        "train": code.generate_code_tasks(cfg.num_train, cfg.seed, "train", cfg.dev_split),
        "test": code.held_out(cfg.held_out, cfg.num_test, cfg.seed, cfg.path, cfg.dev_split),
    }


def _humaneval(cfg: TaskConfig) -> dict[str, list[Problem]]:
    from selfimprove.tasks import code

    problems = code.load_humaneval(cfg.path)
    return {"train": [], "test": problems}


def _mbpp(cfg: TaskConfig) -> dict[str, list[Problem]]:
    from selfimprove.tasks import code

    if not cfg.path:
        raise TaskError("task 'mbpp' needs task.path: a JSONL file or a directory with <split>.jsonl")
    def split_path(split: str) -> str:
        from pathlib import Path
        p = Path(cfg.path)
        return str(p / f"{split}.jsonl") if p.is_dir() else str(p)
    return {"train": code.load_mbpp_jsonl(split_path(cfg.train_split)), "test": code.load_mbpp_jsonl(split_path(cfg.test_split))}


FAMILIES: dict[str, Callable[[TaskConfig], dict[str, list[Problem]]]] = {
    "arithmetic": lambda c: arithmetic.generate(c.ops, c.operand_digits or c.digits, c.num_train, c.num_test, c.seed),
    "equations": lambda c: equations.generate(c.digits, c.num_train, c.num_test, c.seed),
    "code": _code,
    "humaneval": _humaneval,
    "mbpp": _mbpp,
    "jsonl": _loaded,
    "parquet": _loaded,
    "hf": _loaded,
    "gsm8k": _loaded,
}


def load_task(cfg: TaskConfig) -> dict[str, list[Problem]]:
    if cfg.name not in FAMILIES:
        from verifiers.suggest import did_you_mean

        raise TaskError(f"unknown task.name '{cfg.name}'{did_you_mean(cfg.name, FAMILIES)} "
                        f"Available: {', '.join(FAMILIES)}")
    return FAMILIES[cfg.name](cfg)


__all__ = ["FAMILIES", "LeakageError", "Problem", "TaskError", "check_disjoint", "load_task"]
