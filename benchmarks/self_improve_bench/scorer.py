"""Which engine scores a benchmark run's policies, and the check that it scores what ``hf`` would (issue #29).

Training arms always run in the interpreter that started the benchmark (``hf`` rollouts in the
loop, TRL's own generation in the TRL arm): the scorer changes how fast a policy is *measured*,
never how it was trained. With ``--scorer vllm`` (the default where the CPU vLLM environment of
``launch/setup_vllm.sh`` exists) the scoring phases (cap calibration, the base model's score,
every arm's score) run in that environment's Python with ``rollouts.backend=vllm``; an arm is
then trained in one phase (``train/<label>``, this interpreter) and scored in the next
(``arm/<label>``, the vLLM one), which adopts the committed training.

Parity: before anything is scored, the base model answers the validation split greedily at the
eval cap on both backends (``parity/hf``, ``parity/vllm``); the record keeps the share of
completions that are identical token for token, the problems where they differ and each
backend's pass@1 there. Greedy decoding is deterministic on each backend but float32 kernels
differ, so a near-tie between two tokens may break differently; the record says how often.
Sampled passes use each backend's own random stream: the same distribution, not the same draws.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCORERS = ("auto", "hf", "vllm")
#: Phase kinds that only score (so they may run in the vLLM interpreter) and parity's own.
SCORING_KINDS = ("calibrate", "eval", "arm")


def vllm_python() -> Path:
    """The CPU vLLM environment's interpreter (``SELFIMPROVE_VLLM_VENV`` or ``.venv-vllm``)."""
    return Path(os.environ.get("SELFIMPROVE_VLLM_VENV", REPO / ".venv-vllm")) / "bin" / "python"


def resolve(choice: str) -> str:
    """``auto`` -> ``vllm`` where its environment exists, else ``hf``; ``vllm`` without it fails here."""
    if choice not in SCORERS:
        raise SystemExit(f"--scorer {choice!r}: choose one of {', '.join(SCORERS)}")
    if choice == "auto":
        return "vllm" if vllm_python().exists() else "hf"
    if choice == "vllm" and not vllm_python().exists():
        raise SystemExit(f"--scorer vllm: no vLLM environment at {vllm_python().parents[1]}; build it with "
                         "`bash launch/setup_vllm.sh` (or set SELFIMPROVE_VLLM_VENV), or pass --scorer hf")
    return choice


def python_for(phase: str, scorer: str) -> str:
    """The interpreter that runs ``phase``: the vLLM one for scoring phases when vLLM scores."""
    kind = phase.partition("/")[0]
    if scorer == "vllm" and (kind in SCORING_KINDS or phase == "parity/vllm"):
        return str(vllm_python())
    return sys.executable


def plan(settings: dict[str, Any], phases: list[str]) -> list[str]:
    """``phases`` (the hf plan) with parity after calibration and each ``arm/<label>`` preceded by
    its ``train/<label>`` when vLLM scores: training and scoring then run in different interpreters."""
    if settings.get("scorer", "hf") != "vllm":
        return phases
    out: list[str] = []
    for phase in phases:
        if phase == "eval/base":
            out += ["parity/hf", "parity/vllm"]
        if phase.startswith("arm/"):
            out.append("train/" + phase.removeprefix("arm/"))
        out.append(phase)
    return out


def parity_entry(hf: dict[str, dict[str, Any]], vllm: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Compare two backends' greedy answers ``{problem id: {"ids": token ids, "correct": bool}}``."""
    if set(hf) != set(vllm):
        raise RuntimeError(f"parity: the backends answered different problems ({len(hf)} vs {len(vllm)})")
    differing = sorted(pid for pid in hf if hf[pid]["ids"] != vllm[pid]["ids"])
    n = len(hf)
    return {"problems": n, "identical": n - len(differing), "share_identical": (n - len(differing)) / n,
            "differing": differing,
            "pass@1": {"hf": sum(r["correct"] for r in hf.values()) / n,
                       "vllm": sum(r["correct"] for r in vllm.values()) / n}}


def describe(results: dict[str, Any]) -> str:
    """One line for the record: which engine scored, and the parity found."""
    scorer = results["settings"].get("scorer", "hf")
    if scorer != "vllm":
        return "Scored with the `hf` backend (transformers, row-compacted decoding)."
    p = results["phases"].get("parity", {})
    if not p:
        return "Scored with the `vllm` backend (CPU vLLM environment); parity with `hf` not yet checked."
    return (f"Scored with the `vllm` backend (CPU vLLM environment). Parity on the base model's greedy answers to the "
            f"{p['problems']} validation problems: {p['identical']} of {p['problems']} identical to `hf`'s token for "
            f"token ({p['share_identical']:.0%}); pass@1 there hf {p['pass@1']['hf']:.3f}, vllm "
            f"{p['pass@1']['vllm']:.3f}" + (f"; differing: {', '.join(p['differing'][:10])}" if p["differing"] else "")
            + (f"; that pass took hf {p['seconds']['hf']:.0f} s, vllm {p['seconds']['vllm']:.0f} s (engine start "
               f"included)" if "seconds" in p else "") + ".")
