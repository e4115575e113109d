"""Score one policy on the held-out problems: greedy and sampled, lenient and strict, per problem.

Two passes through :func:`selfimprove.evaluate.evaluate` (the loop's one evaluation function,
same seed for every policy, so arms are compared on the same draws): greedy (T = 0, 1 sample)
and sampled (``sampled_t``, ``samples`` per problem), both at ``eval_cap`` new tokens. For each
problem and pass:

- ``correct``: fraction of completions the math verifier accepts (lenient: it finds an answer
  wherever it is);
- ``strict``: fraction that are correct *and* give the answer in ``\\boxed{}`` as the prompt asks
  (:func:`verifiers.strict.has_boxed_answer`, the ``strict`` verifier's format rule);
- ``boxed``, ``truncated`` (cut by the cap), ``tokens`` (mean completion length);
- the same at ``train_cap`` (``correct@64`` ...) when the training cap is smaller: each completion
  cut at its ``train_cap``-th token and graded again. For greedy decoding that is exactly what a
  ``train_cap`` run would have produced (the same tokens up to the cut); for sampling it is the
  same distribution. So the short-cap figure costs no second generation pass.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from rollouts.trace import Trace
from selfimprove.config import Config
from selfimprove.evaluate import evaluate
from selfimprove.models import LoadedModel
from selfimprove.tasks.base import Problem
from selfimprove.store import write_traces
from verifiers.runtime import VerifierRuntime, VerifyItem
from verifiers.strict import has_boxed_answer

MODES = ("greedy", "sampled")


def mode_config(cfg: Config, mode: str, *, eval_cap: int, samples: int, sampled_t: float) -> Config:
    greedy = mode == "greedy"
    sampling = dataclasses.replace(cfg.sampling, temperature=0.0 if greedy else sampled_t,
                                   num_samples=1 if greedy else samples, max_new_tokens=eval_cap)
    return dataclasses.replace(cfg, sampling=sampling, eval=dataclasses.replace(cfg.eval, ks=[1], max_problems=None))


def cut(trace: Trace, cap: int, tokenizer) -> tuple[str, bool]:  # noqa: ANN001 - a HF tokenizer
    """(text, truncated) of the completion as a ``cap``-token limit would have left it."""
    if trace.num_tokens <= cap:
        return trace.completion, trace.finish_reason == "length"
    return tokenizer.decode(trace.completion_ids[:cap], skip_special_tokens=True), True


def truncated_at(trace: Trace, cap: int) -> bool:
    """Whether a ``cap``-token limit would have cut this completion (it kept its EOS token if it stopped)."""
    return trace.num_tokens > cap or (trace.num_tokens == cap and trace.finish_reason == "length")


def calibrate_cap(policy: LoadedModel, problems: list[Problem], cfg: Config, runtime: VerifierRuntime, *,
                  ladder: Sequence[int], sampled_t: float, limit: float = 0.10) -> dict[str, Any]:
    """The smallest cap in ``ladder`` at which ``policy`` truncates fewer than ``limit`` of its answers.

    One greedy and one sampled completion per problem at the largest cap; the truncation rate at
    each smaller cap is read off their lengths (a shorter limit cuts the same tokens).
    """
    top = max(ladder)
    rates: dict[str, dict[int, float]] = {}
    for mode in MODES:
        mcfg = mode_config(cfg, mode, eval_cap=top, samples=1, sampled_t=sampled_t)
        _, traces = evaluate(policy, problems, mcfg, runtime)
        rates[mode] = {cap: sum(truncated_at(t, cap) for t in traces) / len(traces) for cap in sorted(ladder)}
    fits = [cap for cap in sorted(ladder) if all(rates[m][cap] < limit for m in MODES)]
    return {"eval_cap": fits[0] if fits else top, "below_limit": bool(fits), "limit": limit,
            "truncation": {m: {str(c): r for c, r in rs.items()} for m, rs in rates.items()},
            "problems": len(problems)}


def per_problem(traces: Sequence[Trace], cut_verdicts: Sequence[bool] | None, cut_texts: Sequence[tuple[str, bool]] | None,
                train_cap: int | None) -> dict[str, dict[str, Any]]:
    """Per problem id: the fractions listed in the module docstring."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(traces):
        groups[t.problem_id].append(i)
    out = {}
    for pid, idx in groups.items():
        n = len(idx)
        frac = lambda xs: sum(xs) / n  # noqa: E731
        row = {
            "correct": frac(traces[i].verification.correct for i in idx),
            "strict": frac(traces[i].verification.correct and has_boxed_answer(traces[i].completion) for i in idx),
            "boxed": frac(has_boxed_answer(traces[i].completion) for i in idx),
            "truncated": frac(traces[i].finish_reason == "length" for i in idx),
            "tokens": frac(traces[i].num_tokens for i in idx),
            "statuses": sorted({traces[i].verification.status.value for i in idx}),
        }
        if n == 1:
            row["answer"] = traces[idx[0]].verification.extracted
        if cut_verdicts is not None and cut_texts is not None:
            c = f"@{train_cap}"
            row[f"correct{c}"] = frac(cut_verdicts[i] for i in idx)
            row[f"strict{c}"] = frac(cut_verdicts[i] and has_boxed_answer(cut_texts[i][0]) for i in idx)
            row[f"boxed{c}"] = frac(has_boxed_answer(cut_texts[i][0]) for i in idx)
            row[f"truncated{c}"] = frac(cut_texts[i][1] for i in idx)
        out[pid] = row
    return out


def score(policy: LoadedModel, problems: list[Problem], cfg: Config, runtime: VerifierRuntime, *, eval_cap: int,
          train_cap: int, samples: int, sampled_t: float, traces_dir: Path, label: str) -> dict[str, Any]:
    """Both passes on ``problems``; returns ``{mode: {"problems": {id: row}, "metrics": ..., "seconds": ...}}``."""
    policy.tokenizer.padding_side = "left"
    out: dict[str, Any] = {}
    for mode in MODES:
        mcfg = mode_config(cfg, mode, eval_cap=eval_cap, samples=samples, sampled_t=sampled_t)
        metrics, traces = evaluate(policy, problems, mcfg, runtime)
        texts = verdicts = None
        if train_cap < eval_cap:
            texts = [cut(t, train_cap, policy.tokenizer) for t in traces]
            items = [VerifyItem(text, t.reference, t.fields) for (text, _), t in zip(texts, traces)]
            verdicts = [v.correct for v in runtime.verify_batch(items)]
        write_traces(traces_dir / f"{label}-{mode}.parquet", traces, phase="eval",
                     sampling=dataclasses.asdict(mcfg.sampling))
        out[mode] = {
            "problems": per_problem(traces, verdicts, texts, train_cap),
            "metrics": {k: v for k, v in metrics.items() if isinstance(v, (int, float, dict))},
            "seconds": metrics["generate_s"] + metrics["verify_s"],
        }
    return out


def pass_at_1(policy: LoadedModel, problems: list[Problem], cfg: Config, runtime: VerifierRuntime, *, mode: str,
              samples: int, sampled_t: float, eval_cap: int) -> dict[str, Any]:
    """One pass (``mode``) on ``problems``: per problem, the fraction of samples the verifier accepts
    (``correct``), cut by the cap (``truncated``), mean length (``tokens``) and the statuses seen.
    What :mod:`.by_split` summarizes; the arithmetic record's richer rows are :func:`score`'s."""
    mcfg = mode_config(cfg, mode, eval_cap=eval_cap, samples=samples, sampled_t=sampled_t)
    policy.tokenizer.padding_side = "left"
    metrics, traces = evaluate(policy, problems, mcfg, runtime)
    rows: dict[str, dict[str, Any]] = {}
    for t in traces:
        r = rows.setdefault(t.problem_id, {"n": 0, "correct": 0.0, "truncated": 0.0, "tokens": 0.0, "statuses": []})
        r["n"] += 1
        r["correct"] += t.verification.correct
        r["truncated"] += t.finish_reason == "length"
        r["tokens"] += t.num_tokens
        r["statuses"] = sorted(set(r["statuses"]) | {t.verification.status.value})
    for r in rows.values():
        for k in ("correct", "truncated", "tokens"):
            r[k] /= r["n"]
    return {"problems": rows, "seconds": metrics["generate_s"] + metrics["verify_s"],
            "truncated_fraction": metrics["truncated_fraction"], "sampling": dataclasses.asdict(mcfg.sampling)}


def mean_pass(evaluation: dict[str, Any]) -> float:
    """Mean pass@1 over the problems of one :func:`pass_at_1` pass."""
    rows = evaluation["problems"].values()
    return sum(r["correct"] for r in rows) / len(rows)
