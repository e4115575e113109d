"""What the tuning scripts share (``benchmarks/tune_self_improve.py`` on arithmetic,
``benchmarks/tune_code.py`` on code): variants from the command line, a record that ``--resume``
extends, every run trained and scored in its own process and saved as it ends, and its table.

A variant is a benchmark's loop arm plus config overrides, ``NAME=KEY=VALUE[;KEY=VALUE...]``; the
baselines (benchmark arms) are in every run, listed first. A run already in the record is kept
when its overrides are the same and refused when they differ (rename the variant).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from . import child, record, results_index


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``NAME=KEY=VALUE[;KEY=VALUE...]`` -> (name, overrides)."""
    name, sep, rest = text.partition("=")
    overrides = [o.strip() for o in rest.split(";") if o.strip()]
    if not sep or not name.isidentifier() or not overrides or any("=" not in o for o in overrides):
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME=KEY=VALUE[;KEY=VALUE...], "
                                         "e.g. lr1e4=train.rft.learning_rate=1e-4")
    return name, overrides


def add_arguments(p: argparse.ArgumentParser, *, out: Path, budget_minutes: float, model: str | None) -> None:
    """The arguments every tuning script takes; the script adds its dev split's and scoring's."""
    p.add_argument("--variant", type=parse_variant, action="append", default=[],
                   help="NAME=KEY=VALUE[;KEY=VALUE...]: ours plus these config overrides (repeatable)")
    p.add_argument("--out", type=Path, default=out)
    p.add_argument("--resume", action="store_true", help="keep the variants already in --out; run the new ones")
    p.add_argument("--budget-minutes", type=float, default=budget_minutes, help="training wall-clock per variant")
    p.add_argument("--model", default=model, help="the policy (default: the benchmark's)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--set", dest="common", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every variant and baseline (e.g. smaller rounds for a smoke run)")
    p.add_argument("--render", type=Path, default=None, metavar="RESULTS_JSON",
                   help="only re-render a record's table and notes")


def plan(baselines: dict[str, list[str]], variants: list[tuple[str, list[str]]],
         reserved: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Every run of the tuning, name -> overrides: the baselines, then the variants."""
    names = [name for name, _ in variants]
    taken = [n for n in names if n in baselines or n in reserved]
    twice = sorted({n for n in names if names.count(n) > 1})
    if taken or twice:
        raise SystemExit(f"--variant names must be new and different: {taken + twice} are taken "
                         f"(baselines and reserved names: {', '.join([*baselines, *reserved])})")
    return {**baselines, **dict(variants)}


def open_record(path: Path, resume: bool, settings: dict[str, Any], fresh: Callable[[], dict[str, Any]]) -> dict:
    """The record at ``path`` to extend (``resume``, with the same settings), or ``fresh()`` where there is none."""
    if resume and path.exists():
        results = record.load(path)
        if results["settings"] != settings:
            raise SystemExit(f"--resume: settings differ from {path}; pass the same flags")
        return results
    if path.exists():
        raise SystemExit(f"{path} exists; pass --resume to add variants to it, or another --out")
    return fresh()


def run_variants(path: Path, results: dict[str, Any], runs: dict[str, list[str]], run: Callable[..., dict],
                 context: tuple, table: Callable[[dict], str]) -> None:
    """``run(name, overrides, *context)`` in a fresh process for every run not yet in the record;
    the record is saved, and its table printed, after each."""
    for name, overrides in runs.items():
        done = results["variants"].get(name)
        if done is not None:
            if done["overrides"] != overrides:
                raise SystemExit(f"variant {name!r} is in {path} with other overrides {done['overrides']}; rename it")
            continue
        print(f"== {name}: {overrides or '(config as is)'}", flush=True)
        entry = child.in_child(run, name, overrides, *context)
        entry.update(git_commit=record.git_state()["git_commit"], finished=record.now())
        results["variants"][name] = entry
        record.save(path, results)
        print(table(results), flush=True)


def render(path: Path, table: Callable[[dict], str]) -> int:
    """The record's table and notes: ``table.md`` beside a run's results.json, ``NAME.md`` beside a
    committed ``NAME.json`` (and the results index is regenerated)."""
    results = record.load(path)
    md, _ = record.outputs(path, "table.md", "")
    md.write_text(table(results) + record.notes_markdown(results))
    results_index.refresh(path)
    print(f"wrote {md} from {path}")
    return 0
