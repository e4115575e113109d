"""Held-out evaluation: sample k completions per test problem, grade them, summarise.

``selfimprove eval --config configs/quickstart.yaml`` writes, under the run directory:
``config.yaml`` (resolved), ``traces/eval.parquet`` (every trace, graded) and ``metrics.json``.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

from rollouts.engine import RolloutEngine, RolloutRequest, SamplingParams
from rollouts.trace import Trace, to_row
from selfimprove import rundir
from selfimprove.config import Config
from selfimprove.metrics import summarize
from selfimprove.models import LoadedModel, load_model
from selfimprove.prompts import build_messages
from selfimprove.tasks import load_task
from selfimprove.tasks.base import Problem, cap_split
from verifiers.runtime import VerifierRuntime, VerifyItem

log = logging.getLogger(__name__)


def sampling_params(cfg: Config) -> SamplingParams:
    s = cfg.sampling
    return SamplingParams(num_samples=s.num_samples, temperature=s.temperature, top_p=s.top_p,
                          max_new_tokens=s.max_new_tokens, stop=tuple(s.stop), batch_size=s.batch_size,
                          shared_prefill=s.shared_prefill)


def make_runtime(cfg: Config) -> VerifierRuntime:
    v = cfg.verifier
    return VerifierRuntime(v.name, dict(v.options), workers=v.workers, deadline_s=v.deadline_s)


def requests_for(problems: Sequence[Problem], cfg: Config, *, hint: bool = False) -> list[RolloutRequest]:
    return [
        RolloutRequest(problem_id=p.id, messages=build_messages(p, cfg.task, hint=hint), reference=p.reference,
                       task=p.task, fields=dict(p.fields), hint=hint)
        for p in problems
    ]


def grade(traces: list[Trace], runtime: VerifierRuntime, *, progress: bool | None = None) -> None:
    """Attach a verification to every trace (in place)."""
    items = [VerifyItem(t.completion, t.reference, t.fields) for t in traces]
    for trace, verification in zip(traces, runtime.verify_batch(items, progress=progress is not False)):
        trace.verification = verification
        trace.verifier = runtime.identity


def evaluate_policy(loaded: LoadedModel, problems: Sequence[Problem], cfg: Config, runtime: VerifierRuntime, *,
                    round: int = 0, policy: str = "base", seed: int | None = None) -> tuple[dict, list[Trace]]:
    """Sample, grade and summarise; returns (metrics, traces). Metrics include phase timings."""
    engine = RolloutEngine(loaded.model, loaded.tokenizer, sampling_params(cfg), policy=policy, round=round,
                           seed=cfg.run.seed if seed is None else seed)
    t0 = time.perf_counter()
    traces = engine.generate(requests_for(problems, cfg))
    t1 = time.perf_counter()
    grade(traces, runtime)
    t2 = time.perf_counter()
    metrics = summarize(traces, cfg.eval.ks, check_boxed="\\boxed" in cfg.task.prompt_template)
    metrics.update(tokens_per_s=engine.stats.tokens_per_s, generate_s=t1 - t0, verify_s=t2 - t1)
    return metrics, traces


def format_table(metrics: dict) -> str:
    rows = [(k, v) for k, v in metrics.items() if k != "status_counts"]
    rows += [(f"status:{k}", v) for k, v in metrics.get("status_counts", {}).items()]
    width = max(len(k) for k, _ in rows)
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    return "\n".join(f"  {k:<{width}}  {fmt(v)}" for k, v in rows)


def run_eval(cfg: Config) -> dict:
    """The ``selfimprove eval`` job. Returns the metrics it wrote."""
    run_dir = rundir.prepare(cfg)
    problems = cap_split(load_task(cfg.task)["test"], cfg.eval.max_problems)
    log.info("evaluating %s on %d %s test problems x %d samples", cfg.model.name, len(problems), cfg.task.name,
             cfg.sampling.num_samples)
    loaded = load_model(cfg.model.name, device=cfg.run.device, dtype=cfg.model.dtype, cache_dir=cfg.model.cache_dir,
                        seed=cfg.run.seed)
    with make_runtime(cfg) as runtime:
        metrics, traces = evaluate_policy(loaded, problems, cfg, runtime, policy=loaded.name)
    rundir.write_parquet((to_row(t) for t in traces), run_dir / "traces" / "eval.parquet")
    rundir.write_json(run_dir / "metrics.json", metrics)
    print(f"\n{cfg.model.name} on {cfg.task.name} (test, {len(problems)} problems x {cfg.sampling.num_samples} samples)")
    print(format_table(metrics))
    print(f"\nwrote {run_dir}/traces/eval.parquet and {run_dir}/metrics.json")
    return metrics
