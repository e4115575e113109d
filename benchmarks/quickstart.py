"""The quickstart, recorded: run the Quickstart's main job as a user does and write its record.

    .venv/bin/python benchmarks/quickstart.py                   # ~11 min on 2 quiet CPU cores
    .venv/bin/python benchmarks/quickstart.py --resume runs/quickstart-record-TIME      # finish a killed run, record it
    .venv/bin/python benchmarks/quickstart.py --render benchmarks/results/quickstart_DATE.json   # re-render the .md

It runs ``selfimprove train --config configs/quickstart.yaml`` (what ``bash launch/quickstart.sh``
runs after set-up) in a subprocess, then writes ``benchmarks/results/quickstart_<date>.json``
(commit and dirty files, machine, load average before and after, ``pip freeze``, the command's
wall time, the resolved config and the run's per-round held-out results from its
``state.json``) and the ``.md`` rendered from it, and regenerates the results index. A run that
was killed is finished with ``--resume`` (``selfimprove train --resume``); its record then says
so, and its wall time is that of the resuming invocation (the run's own training and evaluation
times, kept in its ``state.json``, cover all of it).

Limits: one run, one seed; the wall time depends on the machine and its load (the record keeps
the load average); the held-out split is 40 problems x 4 samples, so pass@1 moves by a few
hundredths between draws of the same model (the record's own table shows the sizes).
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# As in benchmarks/rollouts.py: a script in benchmarks/ must not shadow the packages it measures.
if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(REPO)

CONFIG = "configs/quickstart.yaml"


def run(out: Path, extra: list[str], resume: Path | None = None) -> dict:
    import yaml

    from benchmarks.self_improve_bench import record

    run_dir = resume or out / f"quickstart-record-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    cmd = [sys.executable, "-m", "selfimprove.cli", "train", "--config", CONFIG,
           "--set", f"run.output_dir={run_dir.parent}", "--set", f"run.name={run_dir.name}", *extra]
    if resume is not None:
        cmd.append("--resume")
    results = {"benchmark": "quickstart", "command": f"selfimprove train --config {CONFIG}" + "".join(f" {a}" for a in extra),
               "resumed": resume is not None, "started": record.now(), **record.git_state(), "machine": record.machine(),
               "pip_freeze": record.pip_freeze(), "loadavg_before": record.loadavg()}
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True)
    results.update(wall_s=time.perf_counter() - t0, finished=record.now(), loadavg_after=record.loadavg())
    state = record.load(run_dir / "state.json")
    results.update(config=yaml.safe_load((run_dir / "config.yaml").read_text()), history=state["history"],
                   train_wall_s=state["train_wall_s"], eval_wall_s=state["eval_wall_s"],
                   global_step=state["global_step"])
    return results


def markdown(results: dict) -> str:
    """The record as a reader sees it: what ran, where, and held-out pass@k per round."""
    from benchmarks.self_improve_bench.record import notes_markdown

    cfg, history = results["config"], results["history"]
    ks = cfg["eval"]["ks"]
    m = results["machine"]
    lines = [
        f"# Quickstart run, {results['started'][:10]}",
        "",
        f"`{results['command']}` (the main job of `bash launch/quickstart.sh`), at commit "
        f"`{results['git_commit'][:12]}`" + (" (dirty tree: " + ", ".join(results["git_status"]) + ")" if results["git_dirty"]
                                           else " (clean tree)") + ".",
        f"{m['cpu']}, {m['cpus']} CPUs, {m['mem_gib']} GiB, torch {m['torch']}; load average before "
        f"{results['loadavg_before'][0]:.2f}, after {results['loadavg_after'][0]:.2f}; "
        f"{results['started']} to {results['finished']}.",
        "",
        f"Model `{cfg['model']['name']}`; task {cfg['task']['name']} ({', '.join(cfg['task']['ops'])}; "
        f"{cfg['task']['digits']}-digit), {cfg['task']['num_train']} train / {cfg['task']['num_test']} held-out problems; "
        f"{cfg['verifier']['name']} verifier; schedule {cfg['train']['schedule']} for {cfg['train']['rounds']} rounds. "
        f"Held-out evaluation: {history[0].get('problems')} problems x {cfg['sampling']['num_samples']} samples at "
        f"T {cfg['sampling']['temperature']}, {cfg['sampling']['max_new_tokens']} new tokens.",
        "",
        "| round | strategy | " + " | ".join(f"pass@{k}" for k in ks) + " | boxed | truncated | training min (cumulative) |",
        "|---|---|" + "---|" * len(ks) + "---|---|---|",
    ]
    for h in history:
        lines.append(f"| {h['round']} | {h['strategy']} | " + " | ".join(f"{h.get(f'pass@{k}', float('nan')):.3f}" for k in ks)
                     + f" | {h.get('format_follow', float('nan')):.3f} | {h.get('truncated_fraction', float('nan')):.3f}"
                     f" | {h['train_wall_s'] / 60:.1f} |")
    first, last = history[0], history[-1]
    lines += [
        "",
        f"Held-out pass@1 {first['pass@1']:.3f} -> {last['pass@1']:.3f}; training {results['train_wall_s'] / 60:.1f} min, "
        f"evaluation {results['eval_wall_s'] / 60:.1f} min, "
        + ("the resuming invocation " if results.get("resumed") else "the whole command ")
        + f"{results['wall_s'] / 60:.1f} min ({results['global_step']} optimizer steps).",
    ]
    return "\n".join(lines) + "\n" + notes_markdown(results)


def render(path: Path) -> int:
    from benchmarks.self_improve_bench import record, results_index

    text = markdown(record.load(path))
    path.with_suffix(".md").write_text(text)
    results_index.refresh(path)
    print(text + f"\nwrote {path.with_suffix('.md')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--render", type=Path, help="re-render the .md (and the index) from a record's .json")
    ap.add_argument("--out", type=Path, default=REPO / "runs", help="where the run directory goes")
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / f"quickstart_{datetime.date.today()}.json")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed on to selfimprove train")
    ap.add_argument("--resume", type=Path, metavar="RUN_DIR", help="finish a killed quickstart run, then record it")
    args = ap.parse_args(argv)
    if args.render is not None:
        return render(args.render)
    from benchmarks.self_improve_bench import record

    results = run(args.out, [a for kv in args.set for a in ("--set", kv)], resume=args.resume)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    record.save(args.json, results)
    return render(args.json)


if __name__ == "__main__":
    sys.exit(main())
