"""Row compaction (``sampling.compact``, rollouts/decode.py) vs transformers' ``generate``, side by side.

    .venv/bin/python benchmarks/compact_decode.py [--repeats 3] [--json benchmarks/results/compact_decode_DATE.json]

Three workloads of ``benchmarks/self_improve.py``, on its validation problems (2-digit +,
2-digit x 1-digit) with its prompt, SmolLM2-135M:

- ``eval_greedy``: 1 greedy completion per problem at the evaluation cap (192 tokens);
- ``eval_sampled``: 4 completions per problem at T 0.7, 192 tokens;
- ``train_rollouts``: 8 completions per problem at T 0.7 at the training cap (64 tokens).

Each workload runs both ways ``--repeats`` times, alternating which goes first, in chunks of 128
sequences as the benchmark does. Reported per workload: the median wall time of each way, the
median of the per-repeat ratios (generate / compact) and, for greedy decoding, how many
completions differ (compaction changes what is computed, not what is decoded). Sampled draws of
a seed differ between the two ways, so their token counts are reported beside the times.
The script alone writes the JSON record (commit and dirty files, machine, load average, every repeat)
and the ``.md`` beside it; ``--render JSON`` re-renders the ``.md`` alone.
"""

from __future__ import annotations

import datetime
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# As in benchmarks/rollouts.py: a script in benchmarks/ must not shadow the packages it measures.
if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(REPO)

WORKLOADS = {  # name: (samples per problem, temperature, max new tokens)
    "eval_greedy": (1, 0.0, 192),
    "eval_sampled": (4, 0.7, 192),
    "train_rollouts": (8, 0.7, 64),
}


def requests(problems: int):
    from benchmarks.self_improve_bench import data
    from benchmarks.tune_self_improve import benchmark_split
    from selfimprove.config import load_config
    from selfimprove.sampling import requests_for

    cfg = load_config(REPO / "configs" / "benchmark_self_improve.yaml")
    return requests_for(data.build(**benchmark_split()).val[:problems], cfg.task)


def run(loaded, reqs, workload: str, compact: bool) -> dict:  # noqa: ANN001 - a selfimprove LoadedModel
    from rollouts.engine import RolloutEngine, SamplingParams

    g, t, cap = WORKLOADS[workload]
    params = SamplingParams(num_samples=g, temperature=t, max_new_tokens=cap, batch_size=128, compact=compact)
    start = time.perf_counter()
    traces = RolloutEngine(loaded.model, loaded.tokenizer, params, seed=0, progress=False).generate(reqs)
    return {"seconds": time.perf_counter() - start, "tokens": sum(t.num_tokens for t in traces),
            "completions": [t.completion_ids for t in traces]}


def markdown(record: dict) -> str:
    """The record as a reader sees it: per workload, median wall time of each way and the speed-up."""
    from benchmarks.self_improve_bench.record import notes_markdown

    commit = record.get("git_commit") or record.get("commit", "?")
    machine = record["machine"]
    if isinstance(machine, dict):
        machine = f"{machine['cpu']}, {machine['cpus']} CPUs, torch {machine['torch']}"
    lines = [
        f"# Row compaction vs generate(), {record['started'][:10]}",
        "",
        f"`benchmarks/compact_decode.py` at commit `{commit[:12]}`"
        + (" (dirty tree: " + ", ".join(record["git_status"]) + ")" if record.get("git_dirty") else "") + f"; {machine}, "
        f"{record['threads']} torch threads; load average before {record['loadavg_before'][0]:.2f}, after "
        f"{record['loadavg_after'][0]:.2f}; started {record['started']}.",
        f"Model `{record['model']}`, {record['problems']} validation problems of `benchmarks/self_improve.py`; each "
        "workload runs both ways per repeat, alternating which goes first.",
        "",
        "| workload | samples x tokens, T | generate (median s) | compact (median s) | speed-up, median (per repeat) "
        "| tokens, generate / compact | greedy completions differing |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, w in record["workloads"].items():
        samples, temperature, tokens = WORKLOADS[name]
        differ = w.get("greedy_completions_differing")
        differing = "-" if differ is None else f"{differ}/{record['problems']}"
        lines.append(f"| {name} | {samples} x {tokens}, T {temperature:g} | {w['generate']['median_s']:.1f} | "
                     f"{w['compact']['median_s']:.1f} | {w['speedup_median']:.2f}x "
                     f"({', '.join(f'{x:.2f}' for x in w['ratios'])}) | {w['generate']['tokens'][0]:,} / "
                     f"{w['compact']['tokens'][0]:,} | {differing} |")
    return "\n".join(lines) + "\n" + notes_markdown(record)


def main() -> None:
    from benchmarks.self_improve_bench import record as provenance

    ap = provenance.script_parser(__doc__)
    ap.add_argument("--problems", type=int, default=60, help="validation problems per workload (the split has 60)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / f"compact_decode_{datetime.date.today()}.json")
    args = ap.parse_args()
    if args.render is not None:
        return provenance.render(args.render, markdown)

    import torch

    from selfimprove.models import load_model

    loaded = load_model(args.model, device="cpu")
    reqs = requests(args.problems)
    record = {"started": provenance.now(), **provenance.git_state(), "machine": provenance.machine(),
              "threads": torch.get_num_threads(), "model": args.model, "problems": len(reqs),
              "loadavg_before": provenance.loadavg(), "workloads": {}}
    print(f"{args.model}, {len(reqs)} problems, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load {record['loadavg_before'][0]:.2f}")
    for workload in WORKLOADS:
        runs: dict[str, list[dict]] = {"generate": [], "compact": []}
        for r in range(args.repeats):
            for compact in ((False, True) if r % 2 == 0 else (True, False)):
                runs["compact" if compact else "generate"].append(run(loaded, reqs, workload, compact))
        ratios = [g["seconds"] / c["seconds"] for g, c in zip(runs["generate"], runs["compact"])]
        differ = sum(a != b for a, b in zip(runs["generate"][0]["completions"], runs["compact"][0]["completions"]))
        entry = {way: {"seconds": [x["seconds"] for x in xs], "tokens": [x["tokens"] for x in xs],
                       "median_s": statistics.median(x["seconds"] for x in xs)} for way, xs in runs.items()}
        entry.update(speedup_median=statistics.median(ratios), ratios=ratios,
                     greedy_completions_differing=differ if WORKLOADS[workload][1] == 0 else None)
        record["workloads"][workload] = entry
        print(f"{workload:15s} generate {entry['generate']['median_s']:6.1f} s   compact {entry['compact']['median_s']:6.1f} s"
              f"   speedup {entry['speedup_median']:.2f}x (per repeat {', '.join(f'{x:.2f}' for x in ratios)})"
              + (f"   greedy completions differing: {differ}/{len(reqs)}" if WORKLOADS[workload][1] == 0 else ""))
    record["loadavg_after"] = provenance.loadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.json}")
    provenance.render(args.json, markdown)


if __name__ == "__main__":
    main()
