"""Held-out evaluation: one function, :func:`evaluate`, used by ``selfimprove eval`` and by every
evaluation of ``selfimprove train``; and :func:`run_eval`, the ``eval`` command.

``selfimprove eval --config configs/quickstart.yaml`` writes, under the run directory:
``config.yaml`` (resolved), ``traces/eval.parquet`` (every trace, graded, in the trace store's
schema) and ``metrics.json``. Both commands draw evaluation samples with the same seed, so
``selfimprove eval`` of a model reproduces the round-0 evaluation of a training run on it.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

from rollouts.engine import RolloutStats
from rollouts.trace import Trace
from selfimprove import atomic, distributed, rundir
from selfimprove.config import Config
from selfimprove.metrics import summarize
from selfimprove.models import LoadedModel, load_model
from selfimprove.sampling import phase_seed, requests_for, sample_and_grade, sampling_record
from selfimprove.tasks import load_task
from selfimprove.tasks.base import Problem, cap_split
from verifiers.runtime import VerifierRuntime

log = logging.getLogger(__name__)


def evaluate(policy: LoadedModel, problems: Sequence[Problem], cfg: Config, runtime: VerifierRuntime, *,
             round: int = 0) -> tuple[dict[str, Any], list[Trace]]:
    """Sample ``sampling.num_samples`` completions per problem, grade, summarise.

    Returns (metrics, traces); metrics hold pass@k, format and length rates, status counts and
    the phase's timings (``generate_s``, ``verify_s``, ``tokens_per_s``). The seed is the same
    for every round, so rounds differ only by the policy. Sharded across ranks when distributed.
    """
    stats = RolloutStats()
    traces = sample_and_grade(policy, requests_for(problems, cfg.task), cfg.sampling.num_samples, cfg.sampling,
                              runtime, seed=phase_seed(cfg.run.seed, 0, "eval"), round=round, stats=stats,
                              backend=cfg.rollouts)
    metrics = summarize(traces, cfg.eval.ks, check_boxed="\\boxed" in cfg.task.prompt_template)
    metrics.update(tokens_per_s=stats.tokens_per_s, generate_s=stats.generate_s, verify_s=stats.verify_s)
    return metrics, traces


def format_table(metrics: dict) -> str:
    rows = [(k, v) for k, v in metrics.items() if k != "status_counts"]
    rows += [(f"status:{k}", v) for k, v in metrics.get("status_counts", {}).items()]
    width = max(len(k) for k, _ in rows)
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    return "\n".join(f"  {k:<{width}}  {fmt(v)}" for k, v in rows)


def run_eval(cfg: Config) -> dict:
    """The ``selfimprove eval`` job. Returns the metrics it wrote."""
    from selfimprove.store import write_traces

    w = distributed.init()  # under torchrun: each rank samples its shard, metrics cover the whole split
    if w.is_main:
        rundir.prepare(cfg)
    distributed.barrier()
    run_dir = cfg.run_dir
    problems = cap_split(load_task(cfg.task)["test"], cfg.eval.max_problems)
    log.info("evaluating %s on %d %s test problems x %d samples", cfg.model.name, len(problems), cfg.task.name,
             cfg.sampling.num_samples)
    loaded = load_model(cfg.model.name, device=cfg.run.device, dtype=cfg.model.dtype, cache_dir=cfg.model.cache_dir,
                        seed=cfg.run.seed)
    t0 = time.perf_counter()
    with cfg.verifier.runtime() as runtime:
        metrics, traces = evaluate(loaded, problems, cfg, runtime)
    if not w.is_main:  # every rank holds all traces and the same metrics; rank 0 writes and reports
        return metrics
    write_traces(run_dir / "traces" / "eval.parquet", traces, phase="eval",
                 sampling=sampling_record(cfg.sampling, cfg.sampling.num_samples))
    atomic.write_json(run_dir / "metrics.json", metrics)
    print(f"\n{cfg.model.name} on {cfg.task.name} (test, {len(problems)} problems x {cfg.sampling.num_samples} samples, "
          f"{time.perf_counter() - t0:.0f} s)")
    print(format_table(metrics))
    print(f"\nwrote {run_dir}/traces/eval.parquet and {run_dir}/metrics.json")
    return metrics
