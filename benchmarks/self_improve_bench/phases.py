"""One phase of a benchmark run, in its own process: ``eval/base``, ``sweep/lr=<lr>`` (TRL's sweep),
``sweep/ours_grpo/lr=<lr>``, ``arm/<name>``
(``arm/<name>@<seed>`` for the second and later run seeds).

A phase reads the run's settings from ``results.json`` (never from its own command line, so every
phase of a run uses the same ones), rebuilds the splits and checks they are the recorded ones,
does its work and commits its part of ``results.json`` (an arm commits its training record before
it is evaluated, so a crash during evaluation does not retrain it).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Sequence

from . import arms, data, record, scorer, scoring
from .summary import SWEPT, eval_cap, run_label, run_seeds, sweep_phase, sweep_runs, swept_arms

BENCH = Path(__file__).resolve().parents[1]
CONFIG = BENCH.parent / "configs" / "benchmark_self_improve.yaml"


def loop_config(settings: dict[str, Any], out: Path, arm: str, extra: Sequence[str] = (), seed: int | None = None):
    """The resolved config of a loop arm (``ours`` is the config file itself, plus paths) at run
    seed ``seed`` (default: the first of the run's seeds)."""
    from selfimprove.config import load_config

    seed = run_seeds(settings)[0] if seed is None else seed
    name = run_label(arm, seed, settings).replace("@", "-seed")
    sets = [f"task.path={out / 'data'}", f"run.output_dir={out / 'runs'}", f"run.name={name}", f"run.seed={seed}",
            "run.overwrite=true",
            f"train.time_budget_minutes={settings['budget_minutes']}", f"model.name={settings['model']}",
            f"eval.max_problems={settings['val_eval']}"]
    if settings["strict_format"]:
        sets.append("verifier.name=strict")
    return load_config(CONFIG, [*sets, *arms.LOOP_ARMS.get(arm, []), *settings["loop_overrides"], *extra])


def _splits(results: dict[str, Any]) -> data.Splits:
    s = results["settings"]
    splits = data.build(train=s["train"], val=s["val"], test=s["test"], ood=s["ood"], seed=s["seed"])
    for name in ("val", "test", "ood"):
        if [p.id for p in getattr(splits, name)] != [r["id"] for r in results["data"]["problems"][name]]:
            raise RuntimeError(f"the {name} split differs from the recorded one: the task generator changed "
                               "since this run started; start over")
    return splits


def scoring_config(settings: dict[str, Any], out: Path, backend: str | None = None):
    """The config every scoring pass uses: ``ours``' with the run's scorer as the rollout backend."""
    return loop_config(settings, out, "ours", [f"rollouts.backend={backend or settings.get('scorer', 'hf')}"])


def _eval_runtime(cfg):
    # scoring is always lenient math; strict pass@1 is read from the same completions
    return dataclasses.replace(cfg.verifier, name="math", options={}).runtime()


def _score(label: str, policy, results: dict[str, Any], out: Path) -> None:
    """Score ``policy`` on test + OOD and commit it as ``evals[label]``."""
    s = results["settings"]
    splits = _splits(results)
    cfg = scoring_config(s, out)
    policy.name = label
    t0, load0 = time.perf_counter(), record.loadavg()
    with _eval_runtime(cfg) as runtime:
        scored = scoring.score(policy, splits.test + splits.ood, cfg, runtime, eval_cap=eval_cap(results),
                               train_cap=s["train_cap"], samples=s["eval_samples"], sampled_t=s["sampled_temperature"],
                               traces_dir=out / "evals", label=label)
    fresh = record.load(out / "results.json")
    fresh["evals"][label] = scored
    fresh["phases"].setdefault(f"eval/{label}", {}).update(
        done=True, seconds=time.perf_counter() - t0, loadavg=[load0, record.loadavg()], scorer=cfg.rollouts.backend,
        finished=record.now())
    record.save(out / "results.json", fresh)
    g = scored["greedy"]["metrics"]
    print(f"  {label}: greedy pass@1 {g['pass@1']:.3f} (truncated {g['truncated_fraction']:.2f}) on "
          f"{len(splits.test) + len(splits.ood)} problems, {time.perf_counter() - t0:.0f} s", flush=True)


def _base_model(results: dict[str, Any], out: Path):
    from selfimprove.models import load_model

    cfg = loop_config(results["settings"], out, "ours")
    return load_model(cfg.model.name, device=cfg.run.device, dtype=cfg.model.dtype, cache_dir=cfg.model.cache_dir,
                      seed=cfg.run.seed)


def calibrate(results: dict[str, Any], out: Path) -> None:
    """Choose the scoring cap on the validation split (see :func:`scoring.calibrate_cap`)."""
    s = results["settings"]
    cfg = scoring_config(s, out)
    t0, load0 = time.perf_counter(), record.loadavg()
    with _eval_runtime(cfg) as runtime:
        entry = scoring.calibrate_cap(_base_model(results, out), _splits(results).val, cfg, runtime,
                                      ladder=s["cap_ladder"], sampled_t=s["sampled_temperature"])
    entry.update(seconds=time.perf_counter() - t0, loadavg=[load0, record.loadavg()])
    _commit_phase(out, "calibrate", entry)
    print(f"  eval cap {entry['eval_cap']} (truncation by cap, greedy: {entry['truncation']['greedy']})", flush=True)


def parity(results: dict[str, Any], out: Path, backend: str) -> None:
    """The base model's greedy answers to the validation split on ``backend``; on ``vllm`` (run after
    ``hf``), their comparison is committed as the ``parity`` phase (see :mod:`.scorer`)."""
    from selfimprove.evaluate import evaluate

    s = results["settings"]
    cfg = scoring_config(s, out, backend)
    mcfg = scoring.mode_config(cfg, "greedy", eval_cap=eval_cap(results), samples=1, sampled_t=0.0)
    policy = _base_model(results, out)
    t0 = time.perf_counter()  # from the engine's start (vLLM's is in it) to the last verdict
    with _eval_runtime(cfg) as runtime:
        _, traces = evaluate(policy, _splits(results).val, mcfg, runtime)
    seconds = time.perf_counter() - t0
    answers = {t.problem_id: {"ids": list(t.completion_ids), "correct": bool(t.verification.correct)} for t in traces}
    _commit_phase(out, f"parity/{backend}", {"answers": answers, "seconds": seconds})
    if backend == "vllm":
        hf = results["phases"]["parity/hf"]
        entry = scorer.parity_entry(hf["answers"], answers)
        entry["seconds"] = {"hf": hf["seconds"], "vllm": seconds}
        _commit_phase(out, "parity", {**entry, "done": True})
        print(f"  parity: {entry['identical']} of {entry['problems']} greedy answers identical to hf's", flush=True)


def _commit_phase(out: Path, name: str, entry: dict[str, Any]) -> None:
    """Commit one phase's entry, stamped with when it ended (a resumed run spans sessions and machines)."""
    fresh = record.load(out / "results.json")
    fresh["phases"][name] = {**entry, "finished": entry.get("finished", record.now())}
    record.save(out / "results.json", fresh)


def _trl(results: dict[str, Any], out: Path, lr: float, minutes: float, run_name: str, seed: int | None = None):
    s = results["settings"]
    cfg = loop_config(s, out, "ours", seed=seed)
    settings = dataclasses.replace(arms.TRLSettings(), temperature=s["sampled_temperature"], **s["trl"])
    reward = "strict" if s["strict_format"] else cfg.verifier.name
    return arms.run_trl_arm(cfg, _splits(results).train, lr, minutes * 60, out / "runs" / run_name, settings, reward)


def _val_scores(policy, results: dict[str, Any], out: Path) -> dict[str, float]:
    """Greedy pass@1 (what a sweep selects by) and truncation on the validation split at the eval cap."""
    from selfimprove.evaluate import evaluate

    s = results["settings"]
    cfg = loop_config(s, out, "ours")
    mcfg = scoring.mode_config(cfg, "greedy", eval_cap=eval_cap(results), samples=1, sampled_t=0.0)
    with _eval_runtime(cfg) as runtime:
        metrics, _ = evaluate(policy, _splits(results).val, mcfg, runtime)
    return {"val_pass@1": metrics["pass@1"], "val_truncated": metrics["truncated_fraction"]}


def sweep_run(results: dict[str, Any], out: Path, arm: str, lr: float) -> None:
    """One full-length training run of ``arm`` at ``lr`` (first run seed), scored on validation."""
    from selfimprove.train.policy import load_policy

    t0, load0 = time.perf_counter(), record.loadavg()
    s = results["settings"]
    if arm == "trl_grpo_tuned":
        entry, policy = _trl(results, out, lr, s["sweep_minutes"], f"trl-lr{lr:g}")
    else:
        cfg = loop_config(s, out, arm, [f"train.grpo.learning_rate={lr!r}", f"run.name={arm}-lr{lr:g}"])
        entry = arms.run_loop_arm(cfg, s["sweep_minutes"] * 60)
        policy = load_policy(cfg, entry["checkpoint"])
    entry.update(learning_rate=lr, **_val_scores(policy, results, out))
    entry.update(done=True, seconds=time.perf_counter() - t0, loadavg=[load0, record.loadavg()])
    _commit_phase(out, sweep_phase(arm, lr), entry)
    print(f"  {arm} lr {lr:g}: {entry['steps']} steps in {entry['train_min']:.1f} min, val greedy pass@1 "
          f"{entry['val_pass@1']:.3f} (truncated {entry['val_truncated']:.2f})", flush=True)


def best_learning_rate(results: dict[str, Any], arm: str = "trl_grpo_tuned") -> float:
    """The learning rate of ``arm``'s sweep with the best validation score (ties: the smallest)."""
    runs = list(sweep_runs(results, arm).values())
    if len(runs) != len(results["settings"]["sweep_lrs"]):
        raise RuntimeError(f"the {arm} learning-rate sweep is incomplete")
    return max(sorted(runs, key=lambda v: v["learning_rate"]), key=lambda v: v["val_pass@1"])["learning_rate"]


def _sweep_lr(results: dict[str, Any], arm: str) -> list[str]:
    """A swept loop arm trains at the rate its own sweep chose (issue #27: each GRPO at its own
    best rate, chosen on the same grid and split as TRL's); other arms at the config's."""
    if arm not in swept_arms(results["settings"]):
        return []
    return [f"train.grpo.learning_rate={best_learning_rate(results, arm)!r}"]


def train_arm(results: dict[str, Any], out: Path, arm: str, seed: int) -> dict[str, Any]:
    """Train ``arm`` at run seed ``seed`` (or adopt its committed training); return the results with it."""
    s = results["settings"]
    label = run_label(arm, seed, s)
    name = f"train/{label}"
    if not results["phases"].get(name, {}).get("done"):
        t0, load0 = time.perf_counter(), record.loadavg()
        first = seed == run_seeds(s)[0]  # the sweep ran at the first seed
        if arm in swept_arms(s) and first and s["sweep_minutes"] == s["budget_minutes"]:
            # the best full-length sweep run is the arm (its own seconds and load average stay)
            entry = {**results["phases"][sweep_phase(arm, best_learning_rate(results, arm))], "reused_sweep_run": True}
        else:
            if arm == "trl_grpo_tuned":
                entry, _ = _trl(results, out, best_learning_rate(results), s["budget_minutes"],
                                label.replace("@", "-seed"), seed)
            else:
                entry = arms.run_loop_arm(loop_config(s, out, arm, _sweep_lr(results, arm), seed), s["budget_minutes"] * 60)
            entry.update(seconds=time.perf_counter() - t0, loadavg=[load0, record.loadavg()])
        if arm in swept_arms(s):
            entry["sweep"] = {k: v["val_pass@1"] for k, v in sweep_runs(results, arm).items()}
            entry.setdefault("learning_rate", best_learning_rate(results, arm))
        entry.update(done=True, reward="strict" if s["strict_format"] else "math", seed=seed)
        _commit_phase(out, name, entry)
        results = record.load(out / "results.json")
    entry = results["phases"][name]
    print(f"  {label}: {entry['train_min']:.2f} min of training, {entry['steps']} optimizer steps, "
          f"{entry['samples']} samples", flush=True)
    return results


def trained_policy(results: dict[str, Any], out: Path, arm: str, seed: int):
    """The policy ``arm`` ended its training at run seed ``seed`` with (committed by :func:`train_arm`)."""
    from selfimprove.models import load_model
    from selfimprove.train.policy import load_policy

    s = results["settings"]
    entry = results["phases"][f"train/{run_label(arm, seed, s)}"]
    cfg = loop_config(s, out, "ours", seed=seed)
    if arm == "trl_grpo_tuned":
        policy = load_model(entry["checkpoint"], device=cfg.run.device, dtype=cfg.model.dtype, seed=cfg.run.seed)
    else:
        policy = load_policy(loop_config(s, out, arm, seed=seed), entry["checkpoint"])
    return policy


def _arm_and_seed(label: str, settings: dict[str, Any]) -> tuple[str, int]:
    """``ours@1`` -> (``ours``, 1); a bare arm name is the first run seed's (see ``summary.run_label``)."""
    arm, _, seed = label.partition("@")
    return arm, int(seed) if seed else run_seeds(settings)[0]


def run_phase(out: Path, phase: str) -> int:
    import warnings

    import torch

    # transformers' deprecation notices (gradient_checkpointing, ...) are not ours to act on here
    warnings.filterwarnings("ignore", category=FutureWarning)
    results = record.load(out / "results.json")
    torch.set_num_threads(results["settings"]["threads"])
    kind, _, name = phase.partition("/")
    if kind == "calibrate":
        calibrate(results, out)
    elif kind == "eval" and name == "base":
        _score("base", _base_model(results, out), results, out)
    elif kind == "parity":
        parity(results, out, name)
    elif kind == "train":  # vLLM scores: training runs here, the arm/<label> phase scores in the vLLM interpreter
        train_arm(results, out, *_arm_and_seed(name, results["settings"]))
    elif kind == "sweep":
        arm = next(a for a, prefix in SWEPT.items() if phase.startswith(prefix))
        sweep_run(results, out, arm, float(phase.removeprefix(SWEPT[arm])))
    elif kind == "arm":
        arm, seed = _arm_and_seed(name, results["settings"])
        results = train_arm(results, out, arm, seed)
        _score(name, trained_policy(results, out, arm, seed), results, out)
        fresh = record.load(out / "results.json")
        fresh["phases"][phase] = {"done": True}
        record.save(out / "results.json", fresh)
    else:
        raise SystemExit(f"unknown phase {phase!r}")
    if kind != "arm":
        fresh = record.load(out / "results.json")
        fresh["phases"].setdefault(phase, {})["done"] = True
        record.save(out / "results.json", fresh)
    return 0
