"""Rollout backends side by side: tokens/s of ``hf`` vs ``vllm`` on the same prompts and sampling,
plus the time of an in-place weight sync. Needs vLLM (the CPU environment: bash launch/setup_vllm.sh).

    .venv-vllm/bin/python benchmarks/rollouts.py [--rounds 3] [--lengths 64 512] [--json out.json]

For each length, the two backends alternate round by round (hf, vllm, vllm, hf, ...) so load from
other work on the machine falls on both alike; each round samples ``--samples`` completions of each
prompt at T=0.7 (arithmetic word problems, the quickstart's prompt). Reported: median tokens/s per
backend and the median of the per-round ratios vllm/hf, with the load average. Each backend is
warmed up once first (vLLM's first batch compiles kernels; its engine start is reported separately).

Weight sync: the policy's weights are perturbed (as an update would) and pushed into the running
vLLM engine ``--syncs`` times; the median wall time is reported (streaming every tensor, vLLM
rebuilding each layer's kernel weights on CPU, and the prefix-cache reset).

On CPU the record also says which GEMM kernel vLLM gave its layers (``cpu_gemm_kernels``: layers
per kernel, e.g. oneDNN, sgl-kernel on AMX, zentorch; the choice follows the ISA, ``cpu_capability``):
tokens/s depends on it, and each sync rebuilds that kernel's copy of every layer's weight.

On a GPU the same script measures the CUDA build (``pip install 'selfimprove[vllm]'``); pass
``--device cuda``. With ``--json`` it writes the record (commit, machine, results) and its ``.md``;
``--render JSON`` re-renders the ``.md`` alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# This script is named like the package it measures: run as a script, its own folder comes first
# on sys.path and `import rollouts` would find this file. The repository root goes there instead
# (for `benchmarks.self_improve_bench`, the record's provenance).
if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import torch  # noqa: E402

from rollouts.backends import build_engine, shared_vllm_runtime  # noqa: E402
from rollouts.config import RolloutsConfig  # noqa: E402
from rollouts.engine import RolloutRequest, SamplingParams  # noqa: E402
from selfimprove.models import load_model  # noqa: E402


def prompts(n: int) -> list[RolloutRequest]:
    text = "A shop sells {a} pencils in the morning and {b} in the afternoon. How many pencils does it sell?"
    return [RolloutRequest(f"p{i}", [{"role": "user", "content": text.format(a=3 + i, b=7 + 2 * i)
                                      + "\nThink step by step, then give the final answer in \\boxed{}."}])
            for i in range(n)]


def tokens_per_s(backend: str, loaded, reqs, params: SamplingParams, cfg: RolloutsConfig, seed: int) -> float:
    engine = build_engine(loaded.model, loaded.tokenizer, params, dataclasses.replace(cfg, backend=backend),
                          model_dir=loaded.path, seed=seed, policy="bench", progress=False)
    engine.generate(reqs)
    return engine.stats.tokens_per_s


def markdown(results: dict) -> str:
    """The record as a reader sees it: tokens/s per backend and length, and the weight-sync time."""
    from benchmarks.self_improve_bench.record import notes_markdown

    where = ""
    if "machine" in results:  # records from before 2026-12-07 lack provenance; their notes give it
        m = results["machine"]
        where = (f" at commit `{results['git_commit'][:12]}`" + (" (dirty tree)" if results["git_dirty"] else "")
                 + f"; {m['cpu']}, {m['cpus']} CPUs, torch {m['torch']}; started {results['started']}")
    lines = [f"# Rollout backends: hf vs vllm{', ' + results['started'][:10] if 'started' in results else ''}", "",
             f"`benchmarks/rollouts.py`{where}. Model `{results['model']}` on {results['device']}; the backends "
             "alternate round by round; T 0.7.", "",
             "| new tokens | prompts x samples | hf tok/s (median) | vllm tok/s (median) | vllm / hf, median (per round) "
             "| load average at the end |", "|---|---|---|---|---|---|"]
    for length, row in results["lengths"].items():
        lines.append(f"| {length} | {row['prompts']} x {row['samples']} | {row['hf_tok_s']:.0f} | {row['vllm_tok_s']:.0f} | "
                     f"{row['ratio_median']:.2f}x ({', '.join(f'{x:.2f}' for x in row['ratios'])}) | "
                     f"{row['load_average'][0]:.2f} |")
    syncs = results["weight_sync_s"]
    lines += ["", f"In-place weight sync: median {statistics.median(syncs):.2f} s of {len(syncs)} "
                  f"({', '.join(f'{x:.2f}' for x in syncs)}); engine start {results['engine_start_s']:.1f} s; load average "
                  f"at the end {results['load_average_end'][0]:.2f}."]
    if "cpu_gemm_kernels" in results:  # records from before 2026-12-07 lack it
        kernels = ", ".join(f"{k} {n}" for k, n in results["cpu_gemm_kernels"].items())
        lines += ["", f"vLLM's CPU GEMM kernels (layers each): {kernels}; CPU capability {results['cpu_capability']}."]
    return "\n".join(lines) + "\n" + notes_markdown(results)


def main() -> None:
    from benchmarks.self_improve_bench import record

    ap = record.script_parser(__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--lengths", type=int, nargs="+", default=[64, 512])
    ap.add_argument("--prompts", type=int, nargs="+", default=[16, 4], help="prompts per round, one per length")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="rounds per backend and length")
    ap.add_argument("--syncs", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the results here, and the .md beside them")
    args = ap.parse_args()
    if args.render is not None:
        return record.render(args.render, markdown)

    provenance = {"started": record.now(), **record.git_state(), "machine": record.machine()}
    loaded = load_model(args.model, device=args.device)
    cfg = RolloutsConfig(backend="vllm")
    print(f"{args.model} on {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    t0 = time.perf_counter()
    runtime = shared_vllm_runtime(loaded.model, loaded.tokenizer, cfg, model_dir=loaded.path)
    start_s = time.perf_counter() - t0
    results: dict = {**provenance, "model": args.model, "device": args.device, "engine_start_s": start_s, "lengths": {}}
    for length, n in zip(args.lengths, args.prompts):
        reqs = prompts(n)
        params = SamplingParams(num_samples=args.samples, temperature=0.7, max_new_tokens=length,
                                batch_size=n * args.samples)
        for backend in ("hf", "vllm"):  # warm-up
            tokens_per_s(backend, loaded, reqs[:2], dataclasses.replace(params, max_new_tokens=16), cfg, seed=0)
        speeds: dict[str, list[float]] = {"hf": [], "vllm": []}
        for r in range(args.rounds):
            for backend in (("hf", "vllm") if r % 2 == 0 else ("vllm", "hf")):
                speeds[backend].append(tokens_per_s(backend, loaded, reqs, params, cfg, seed=r))
                print(f"  {length:4d} tokens  round {r + 1}  {backend:4s} {speeds[backend][-1]:7.1f} tok/s", flush=True)
        ratios = [v / h for v, h in zip(speeds["vllm"], speeds["hf"])]
        row = {"prompts": n, "samples": args.samples, "hf_tok_s": statistics.median(speeds["hf"]),
               "vllm_tok_s": statistics.median(speeds["vllm"]), "ratio_median": statistics.median(ratios),
               "ratios": ratios, "load_average": os.getloadavg()}
        results["lengths"][length] = row
        print(f"{length:4d} new tokens, {n} prompts x {args.samples}: hf {row['hf_tok_s']:.1f} tok/s, vllm "
              f"{row['vllm_tok_s']:.1f} tok/s, vllm/hf median {row['ratio_median']:.2f}x "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}); load {os.getloadavg()[0]:.1f}", flush=True)
    sync_s = []
    for k in range(args.syncs):
        with torch.no_grad():
            for p in loaded.model.parameters():
                p.mul_(1 + 1e-4)
        t0 = time.perf_counter()
        runtime.sync(loaded.model, f"perturbed-{k}")
        sync_s.append(time.perf_counter() - t0)
    results["weight_sync_s"] = sync_s
    results["load_average_end"] = os.getloadavg()
    if args.device == "cpu":
        results["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        results["cpu_gemm_kernels"] = runtime.cpu_gemm_kernels()
        print(f"CPU GEMM kernels (layers): {results['cpu_gemm_kernels']}; CPU capability {results['cpu_capability']}")
    print(f"engine start {start_s:.1f} s; weight sync median {statistics.median(sync_s):.2f} s "
          f"({', '.join(f'{x:.2f}' for x in sync_s)}); load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        record.render(args.json, markdown)


if __name__ == "__main__":
    main()
