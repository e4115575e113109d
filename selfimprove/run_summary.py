"""What a run directory says about its run, for a person: the headline of ``selfimprove report``.

Reads only what a run writes: ``metrics.jsonl`` (held-out pass@k per round under ``eval/``, phase
times under ``time/``, a timestamp on every line), ``state.json`` (training and evaluation wall
time, optimizer steps, checkpoints; absent in an ``eval`` run) and ``config.yaml``.

The formatting helpers are the report's conventions: numbers at 3 significant digits, durations
in minutes and seconds, instants as UTC dates.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from pathlib import Path
from typing import Any

#: A phase's total wall time; ``time/<phase>_generate_s`` and ``_verify_s`` split it and are not phases.
_PHASE = re.compile(r"^time/(?P<phase>.+?)_s$")
_SPLIT = ("_generate", "_verify")


@dataclasses.dataclass
class Round:
    round: int
    strategy: str
    pass_at: dict[int, float]  # k -> held-out pass@k
    problems: int | None
    samples: int | None
    truncated: float | None
    finished: float | None  # epoch seconds when its evaluation was logged


@dataclasses.dataclass
class RunSummary:
    name: str
    rounds: list[Round]  # evaluated rounds, round 0 = the policy before training
    planned_rounds: int | None
    phase_times: dict[int, dict[str, float]]  # round -> phase -> seconds, in order of appearance
    started: float | None
    finished: float | None
    train_wall_s: float | None
    eval_wall_s: float | None
    global_step: int | None
    settings: list[tuple[str, str]]
    checkpoints: list[str]  # kept checkpoint directories, relative to the run directory where inside it


def phase_times(rows: list[dict[str, Any]]) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    for row in rows:
        for key, value in row.items():
            m = _PHASE.match(key)
            if m and not m["phase"].endswith(_SPLIT) and isinstance(value, (int, float)) and "round" in row:
                phases = out.setdefault(int(row["round"]), {})
                phases[m["phase"]] = phases.get(m["phase"], 0.0) + float(value)
    return out


def _rounds(rows: list[dict[str, Any]], history: list[dict[str, Any]]) -> list[Round]:
    strategies = {h["round"]: h.get("strategy", "-") for h in history}
    by_round: dict[int, Round] = {}
    for row in rows:
        ks = {int(k.split("@")[1]): float(v) for k, v in row.items() if re.fullmatch(r"eval/pass@\d+", k)}
        if not ks:
            continue
        r = int(row.get("round", len(by_round)))
        by_round[r] = Round(r, strategies.get(r, "base" if r == 0 else "-"), ks, row.get("eval/problems"),
                            row.get("eval/samples"), row.get("eval/truncated_fraction"), row.get("time"))
    return [by_round[r] for r in sorted(by_round)]


def _get(config: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(config, dict) or part not in config:
            return None
        config = config[part]
    return config


def key_settings(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The settings a reader needs to tell two runs apart; the page ends with the whole config."""
    schedule = _get(config, "train.schedule") or []
    task = _get(config, "task.name")
    if task == "arithmetic":
        task = f"arithmetic {' '.join(_get(config, 'task.ops') or [])}, {_get(config, 'task.digits')}-digit"
    elif _get(config, "task.path"):
        task = f"{task} ({_get(config, 'task.path')})"
    items = [("model", _get(config, "model.name")), ("task", task), ("verifier", _get(config, "verifier.name")),
             ("schedule", f"[{', '.join(schedule)}]" if schedule else None),
             ("sampling", f"T {_get(config, 'sampling.temperature')}, {_get(config, 'sampling.max_new_tokens')} new tokens, "
                          f"{_get(config, 'sampling.num_samples')} per held-out problem")]
    items += [(f"{name} learning rate", _get(config, f"train.{name}.learning_rate")) for name in dict.fromkeys(schedule)
              if _get(config, f"train.{name}.learning_rate") is not None]
    reward, backend = _get(config, "train.reward"), _get(config, "rollouts.backend")
    items += [("train reward (a control)", reward if reward not in (None, "verifier") else None),
              ("DeepSpeed", _get(config, "train.deepspeed")), ("LoRA", "on" if _get(config, "train.lora.enabled") else None),
              ("rollouts", backend if backend not in (None, "hf") else None), ("seed", _get(config, "run.seed"))]
    return [(k, str(v)) for k, v in items if v is not None]


def summarize(run: Path, rows: list[dict[str, Any]], config: dict[str, Any]) -> RunSummary:
    state = json.loads((run / "state.json").read_text()) if (run / "state.json").exists() else {}
    starts = [r["time"] - v for r in rows for k, v in r.items()
              if _PHASE.match(k) and isinstance(v, (int, float)) and isinstance(r.get("time"), (int, float))]
    times = [r["time"] for r in rows if isinstance(r.get("time"), (int, float))]
    kept = []
    for path in state.get("checkpoints", []):
        p = Path(path) if Path(path).is_absolute() else run / path
        if p.exists():
            kept.append(str(p.relative_to(run)) if p.resolve().is_relative_to(run.resolve()) else str(p))
    return RunSummary(
        name=run.name, rounds=_rounds(rows, state.get("history", [])), planned_rounds=_get(config, "train.rounds"),
        phase_times=phase_times(rows), started=min(starts, default=None), finished=max(times, default=None),
        train_wall_s=state.get("train_wall_s"), eval_wall_s=state.get("eval_wall_s"),
        global_step=state.get("global_step"), settings=key_settings(config), checkpoints=kept)


# -- formatting --

def num(value: Any) -> str:
    """3 significant digits (0.225, 0.0312, 12.0, 1,800); ints and text as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:#.3g}".rstrip(".")


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def when(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
