"""Provenance for the record (git commit, installed packages, machine, load) and the results file."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from selfimprove import atomic

from . import results_index

REPO = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.rstrip("\n")


def git_state() -> dict[str, Any]:
    """HEAD and the tracked files that differ from it (a dirty tree is recorded, not hidden)."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": _git("rev-parse", "HEAD"), "git_dirty": bool(status), "git_status": status.splitlines()}


#: What a benchmark run's results depend on: a change here between invocations is a different experiment.
CODE_PATHS = ("selfimprove", "verifiers", "rollouts", "benchmarks/self_improve.py", "benchmarks/self_improve_bench",
              "configs/benchmark_self_improve.yaml", "pyproject.toml")


def code_changes(since: str) -> list[str]:
    """Files under :data:`CODE_PATHS` that differ between commit ``since`` and HEAD."""
    return _git("diff", "--name-only", since, "HEAD", "--", *CODE_PATHS).splitlines()


def pip_freeze() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True)
    if done.returncode == 0:
        return {"source": "pip freeze", "packages": done.stdout.splitlines()}
    from importlib.metadata import distributions  # pip missing from the environment: list what is installed

    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in distributions())
    return {"source": f"importlib.metadata (pip freeze failed: {done.stderr.strip()[:200]})", "packages": packages}


def machine() -> dict[str, Any]:
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None) if Path("/proc/meminfo").exists() else None
    return {
        "platform": platform.platform(), "python": sys.version.split()[0], "cpu": cpu,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "mem_gib": round(int(mem) / 2**20, 1) if mem else None, "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),  # torch threads: settings.threads, set in every phase
    }


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def save(path: Path, results: dict[str, Any]) -> None:
    atomic.write_json(path, results)


def outputs(path: Path, table: str, figure: str) -> tuple[Path, Path]:
    """Where a record's Markdown and plot go: beside a run's ``results.json``, ``table`` and
    ``figure``; beside a committed ``benchmarks/results/NAME.json``, ``NAME.md`` and ``NAME.png``."""
    if path.name == "results.json":
        return path.parent / table, path.parent / figure
    return path.with_suffix(".md"), path.with_suffix(".png")


def notes_markdown(results: dict[str, Any]) -> str:
    """The record's "Notes" section: facts about this run learnt or written after it (what else ran
    on the machine, which commit, what was added later). They live in the record's ``notes`` list,
    so re-rendering the ``.md`` keeps them."""
    notes = results.get("notes") or []
    return "\n## Notes\n\n" + "\n".join(f"- {note}" for note in notes) + "\n" if notes else ""


def script_parser(doc: str | None) -> argparse.ArgumentParser:
    """The head of a one-record benchmark script's command line (``compact_decode.py``,
    ``rollouts.py``): the script's docstring as its help, ``--render JSON`` and ``--model``; the
    script adds what it measures."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--render", type=Path, help="only re-render a record's .md (and the results index) from its JSON")
    ap.add_argument("--model", default="builtin:smollm2-135m-instruct")
    return ap


def render(path: Path, markdown: Callable[[dict[str, Any]], str]) -> None:
    """Write ``markdown(record)`` as the ``.md`` beside the record ``path`` and regenerate the results
    index: what ``--render JSON`` does, and the last step of a run that wrote a record."""
    md = path.with_suffix(".md")
    md.write_text(markdown(load(path)))
    results_index.refresh(path)
    print(f"wrote {md}")
