"""``selfimprove report RUN_DIR``: one self-contained HTML page (and its plots as PNG) from a run directory.

Reads only what a run writes: ``metrics.jsonl`` (per-step / per-round metrics from the tracker),
``state.json`` (training time, checkpoints), ``metrics.json`` (an eval run's summary),
``config.yaml`` and ``tables/*.jsonl`` (sample traces). Writes ``report/*.png`` and
``report/index.html`` (images inlined as data URIs, no scripts, no external resources, so the
page opens anywhere, offline).

The page's first screen answers "did it work?": held-out pass@1 before and after each round with
the evaluation's size, the rounds, training wall time, the key settings, where the checkpoints
are, and one stacked bar of phase times per round (:mod:`selfimprove.run_summary`). Then the
charts, the sample traces, the resolved config and the last raw metrics line. Which metric goes in
which chart is decided by name, so new metrics appear without code here: ``eval/pass@k`` -> pass@k
per round; ``reward`` -> reward vs step; ``completion_tokens`` / ``length`` -> completion length.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any, Callable

import yaml

from selfimprove.run_summary import Round, RunSummary, duration, num, summarize, when

#: (file stem, title, x axis, which numeric keys it shows)
PLOTS: list[tuple[str, str, str, Callable[[str], bool]]] = [
    ("pass_at_1", "held-out pass@k per round", "round", lambda k: bool(re.fullmatch(r"eval/pass@\d+", k))),
    ("reward", "reward vs step", "step", lambda k: "reward" in k and not k.endswith(("_std", "/std"))),
    ("completion_length", "completion length (tokens) vs step", "step",
     lambda k: "completion_tokens" in k or k.endswith("length")),
]
STYLE = (
    "body{font-family:sans-serif;margin:1.5em 2em;max-width:1100px;color:#222}h1{margin:0 0 .2em}"
    ".sub{color:#555;margin:0 0 .8em}.verdict{font-size:1.5em;margin:.4em 0 .6em}.verdict b{font-size:1.15em}"
    "table{border-collapse:collapse;font-size:13px;margin:.3em 0 1em}td,th{border:1px solid #ccc;padding:3px 7px;"
    "vertical-align:top;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".wrap td{white-space:pre-wrap;max-width:420px;overflow-wrap:anywhere}.row{display:flex;gap:1.5em;flex-wrap:wrap;"
    "align-items:flex-start}.row img{max-width:560px}img{max-width:100%}pre{background:#f6f6f6;padding:1em;"
    "overflow-x:auto}details{margin:1em 0}summary{cursor:pointer;font-weight:bold}"
)


class ReportError(RuntimeError):
    pass


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    return plt


def _plot(rows: list[dict[str, Any]], keys: list[str], title: str, axis: str, path: Path) -> None:
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=100)
    xs: set[float] = set()
    for key in keys:
        points = dict(sorted((float(r.get(axis, i)), float(r[key])) for i, r in enumerate(rows)
                             if isinstance(r.get(key), (int, float))))  # the last value at each x
        ax.plot(list(points), list(points.values()), marker="o", label=key)
        xs.update(points)
    if len(xs) <= 12:  # a tick per round or step (one point alone would get fractional ticks)
        ax.set_xticks(sorted(xs))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds and steps are whole numbers
    ax.set(title=title, xlabel=axis)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _phase_plot(times: dict[int, dict[str, float]], path: Path) -> None:
    """One stacked bar per round: where its wall time went, phase by phase."""
    plt = _pyplot()
    rounds = sorted(times)
    seen = list(dict.fromkeys(p for r in rounds for p in times[r]))
    phases = [p for p in seen if p not in ("train", "eval")] + [p for p in ("train", "eval") if p in seen]
    minutes = max(sum(t.values()) for t in times.values()) > 180
    fig, ax = plt.subplots(figsize=(5.4, 3.2), dpi=100)
    bottom = [0.0] * len(rounds)
    for phase in phases:
        heights = [times[r].get(phase, 0.0) / (60 if minutes else 1) for r in rounds]
        ax.bar(range(len(rounds)), heights, bottom=bottom, label=phase)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_xticks(range(len(rounds)), [str(r) for r in rounds])
    ax.set(title="wall time per round, by phase", xlabel="round (0: before training)",
           ylabel="minutes" if minutes else "seconds")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _img(title: str, path: Path) -> str:
    return f'<img alt="{html.escape(title)}" src="{_data_uri(path)}">'


def _table(rows: list[dict[str, Any]], limit: int = 20) -> str:
    if not rows:
        return "<p>none</p>"
    columns = list(dict.fromkeys(k for r in rows[:limit] for k in r))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    cell = lambda v: v[:400] if isinstance(v, str) else num(v)  # noqa: E731 - completions can be long
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(r.get(c, '')))}</td>" for c in columns) + "</tr>"
                   for r in rows[:limit])
    return f'<table class="wrap"><tr>{head}</tr>{body}</table>'


def _facts(pairs: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in pairs) + "</table>"


def _headline(s: RunSummary, phase_png: Path | None) -> str:
    """The first screen: did it work, on how much evidence, at what cost, and where the result is."""
    parts = [f"<h1>{html.escape(s.name)}</h1>"]
    span = f" &middot; {when(s.started)} to {when(s.finished)}" if s.started and s.finished else ""
    trained = [r for r in s.phase_times if r > 0]
    what = (f"{sum(r.round > 0 for r in s.rounds)} of {s.planned_rounds or '?'} training rounds evaluated"
            if trained or s.global_step is not None else "an evaluation run")
    parts.append(f'<p class="sub">selfimprove run &middot; {what}{span}</p>')
    if not s.rounds:
        parts.append('<p class="verdict">No held-out evaluation logged yet.</p>')
    else:
        first, last = s.rounds[0], s.rounds[-1]
        p0, p1 = first.pass_at.get(1), last.pass_at.get(1)
        size = f", on {last.problems} problems &times; {last.samples // last.problems} samples" \
            if last.problems and last.samples else ""
        if p0 is not None and p1 is not None and last is not first:
            parts.append(f'<p class="verdict">held-out pass@1 <b>{num(p0)} &rarr; {num(p1)}</b> '
                         f"({'+' if p1 >= p0 else ''}{num(p1 - p0)}) after round {last.round}{size}</p>")
        elif p1 is not None:
            label = {"eval": "this evaluation", "base": "before training"}.get(last.strategy, f"round {last.round}")
            parts.append(f'<p class="verdict">held-out pass@1 <b>{num(p1)}</b> ({label}){size}</p>')
        ks = sorted({k for r in s.rounds for k in r.pass_at})
        head = "".join(f"<th>pass@{k}</th>" for k in ks)
        parts.append(f"<table><tr><th>round</th><th>strategy</th>{head}<th>held-out problems &times; samples</th>"
                     "<th>truncated</th><th>training time (cumulative)</th><th>evaluated</th></tr>")
        train = 0.0
        for r in s.rounds:
            train += sum(t for p, t in s.phase_times.get(r.round, {}).items() if p != "eval")
            cells = "".join(f'<td class="n">{num(r.pass_at[k]) if k in r.pass_at else "-"}</td>' for k in ks)
            size = f"{r.problems} &times; {r.samples // r.problems}" if r.problems and r.samples else "-"
            parts.append(f"<tr><td>{r.round}</td><td>{html.escape(r.strategy)}</td>{cells}<td class='n'>{size}</td>"
                         f"<td class='n'>{num(r.truncated) if r.truncated is not None else '-'}</td>"
                         f"<td class='n'>{duration(train)}</td><td>{when(r.finished) if r.finished else '-'}</td></tr>")
        parts.append("</table>")
    facts = []
    if s.train_wall_s is not None:
        facts.append(("training wall time", duration(s.train_wall_s) + (f" ({s.global_step} optimizer steps)"
                                                                         if s.global_step is not None else "")))
    if s.eval_wall_s is not None:
        facts.append(("evaluation wall time", duration(s.eval_wall_s)))
    facts += s.settings
    facts.append(("checkpoints", ", ".join(s.checkpoints) if s.checkpoints else "none kept"))
    chart = _img("wall time per round, by phase", phase_png) if phase_png else ""
    parts.append(f'<div class="row"><div>{_facts(facts)}</div><div>{chart}</div></div>')
    return "\n".join(parts)


def build_report(run_dir: str | Path) -> Path:
    """Write ``report/`` under ``run_dir``; return the HTML path."""
    run = Path(run_dir)
    if not run.is_dir():
        raise ReportError(f"{run} is not a run directory")
    rows = read_jsonl(run / "metrics.jsonl")
    summary = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").exists() else None
    if not rows and summary is None:
        raise ReportError(f"{run} has neither metrics.jsonl nor metrics.json: is it a selfimprove run directory?")
    out = run / "report"
    out.mkdir(exist_ok=True)
    config_text = (run / "config.yaml").read_text() if (run / "config.yaml").exists() else ""
    run_summary = summarize(run, rows, yaml.safe_load(config_text) or {})
    if summary is not None and not run_summary.rounds:  # `selfimprove eval`: its summary is the one evaluation
        run_summary.rounds = [Round(0, "eval", {int(k[5:]): v for k, v in summary.items() if re.fullmatch(r"pass@\d+", k)},
                                    summary.get("problems"), summary.get("samples"), summary.get("truncated_fraction"), None)]
    phase_png = None
    if run_summary.phase_times:
        phase_png = out / "phase_time.png"
        _phase_plot(run_summary.phase_times, phase_png)
    parts = [_headline(run_summary, phase_png)]
    if summary is not None:
        parts.append("<h2>Evaluation summary</h2>" + _facts([(k, num(v)) for k, v in summary.items()
                                                              if not isinstance(v, (dict, list))]))
    numeric = sorted({k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and k not in ("step", "time")})
    for slug, title, axis, matches in PLOTS:
        keys = [k for k in numeric if matches(k)]
        if keys:
            _plot(rows, keys, title, axis, out / f"{slug}.png")
            parts.append(f"<h2>{html.escape(title)}</h2>" + _img(title, out / f"{slug}.png"))
    for table in sorted((run / "tables").glob("*.jsonl")) if (run / "tables").exists() else []:
        parts.append(f"<h2>Sample traces: {html.escape(table.stem)}</h2>" + _table(read_jsonl(table)[-10:]))
    parts.append(f"<h2>Resolved config</h2><pre>{html.escape(config_text or '(no config.yaml)')}</pre>")
    if rows:
        last = {k: when(v) if k == "time" else num(v) for k, v in rows[-1].items()}
        parts.append("<details><summary>Last logged metrics line</summary>" + _facts(list(last.items())) + "</details>")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>selfimprove report: "
            f"{html.escape(run.name)}</title><style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    (out / "index.html").write_text(page)
    return out / "index.html"
