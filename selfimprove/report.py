"""``selfimprove report RUN_DIR``: plots and one self-contained HTML page from a run directory.

Reads only what a run writes: ``metrics.jsonl`` (per-step / per-round metrics from the
tracker), ``metrics.json`` (an eval run's summary), ``config.yaml`` and ``tables/*.jsonl``
(sample traces). Writes ``report/*.png`` and ``report/index.html`` (images inlined as data
URIs, no scripts, no external resources, so the page opens anywhere, offline).

Which metric goes in which plot is decided by name, so new metrics appear without code here:
``pass@1`` -> pass@1 per round; ``reward`` -> reward vs step; ``completion_tokens`` / ``length``
-> completion length; ``time/*`` or ``*_s`` phase timings -> time per phase.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any, Callable

PLOTS: list[tuple[str, str, Callable[[str], bool]]] = [
    ("pass_at_1", "pass@1 per round", lambda k: k.endswith("pass@1")),
    ("reward", "reward vs step", lambda k: "reward" in k and not k.endswith(("_std", "/std"))),
    ("completion_length", "completion length (tokens)", lambda k: "completion_tokens" in k or k.endswith("length")),
    ("phase_time", "wall time per phase (s)",
     lambda k: k.startswith("time/") or bool(re.search(r"(^|/)(generate|verify|train|eval)_s$", k))),
]


class ReportError(RuntimeError):
    pass


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _series(rows: list[dict[str, Any]], key: str) -> tuple[str, list[float], list[float]]:
    """x axis (round when the row has one, else step) and values of ``key``."""
    points = [r for r in rows if isinstance(r.get(key), (int, float))]
    axis = "round" if points and all("round" in r for r in points) else "step"
    return axis, [float(r.get(axis, i)) for i, r in enumerate(points)], [float(r[key]) for r in points]


def _plot(rows: list[dict[str, Any]], keys: list[str], title: str, path: Path, bars: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    axis = "step"
    for i, key in enumerate(keys):
        axis, xs, ys = _series(rows, key)
        if bars:
            width = 0.8 / len(keys)
            ax.bar([x + i * width for x in xs], ys, width=width, label=key)
        else:
            ax.plot(xs, ys, marker="o", label=key)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds and steps are whole numbers
    ax.set_title(title)
    ax.set_xlabel(axis)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _table(rows: list[dict[str, Any]], limit: int = 20) -> str:
    if not rows:
        return "<p>none</p>"
    columns = list(dict.fromkeys(k for r in rows[:limit] for k in r))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, ''))[:400])}</td>" for c in columns) + "</tr>"
        for r in rows[:limit]
    )
    return f"<table><tr>{head}</tr>{body}</table>"


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
    numeric = sorted({k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and k not in ("step", "time")})
    figures = []
    for slug, title, matches in PLOTS:
        keys = [k for k in numeric if matches(k)]
        if keys:
            _plot(rows, keys, title, out / f"{slug}.png", bars=slug == "phase_time")
            figures.append((title, out / f"{slug}.png"))
    config = (run / "config.yaml").read_text() if (run / "config.yaml").exists() else "(no config.yaml)"
    tables = sorted((run / "tables").glob("*.jsonl")) if (run / "tables").exists() else []
    parts = [f"<h1>selfimprove run: {html.escape(run.name)}</h1>"]
    if summary is not None:
        parts.append("<h2>Evaluation summary</h2>" + _table([summary]))
    if rows:
        parts.append("<h2>Last logged metrics</h2>" + _table([rows[-1]]))
    parts += [f'<h2>{html.escape(t)}</h2><img alt="{html.escape(t)}" src="{_data_uri(p)}">' for t, p in figures]
    for table in tables:
        parts.append(f"<h2>Sample traces: {html.escape(table.stem)}</h2>" + _table(read_jsonl(table)[-10:]))
    parts.append(f"<h2>Resolved config</h2><pre>{html.escape(config)}</pre>")
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>selfimprove report</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;white-space:pre-wrap}"
        "img{max-width:100%}pre{background:#f6f6f6;padding:1em}</style></head><body>"
        + "\n".join(parts) + "</body></html>\n"
    )
    (out / "index.html").write_text(page)
    return out / "index.html"
