"""`selfimprove report` from a run directory alone, and the page as a browser shows it."""

import json
import re
import shutil
import subprocess

import pytest

from selfimprove.cli import main
from selfimprove.report import ReportError, build_report
from selfimprove.tracking import JsonlTracker

VERDICT = "held-out pass@1 <b>0.200 &rarr; 0.800</b> (+0.600) after round 3, on 10 problems &times; 4 samples"


def fake_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model:\n  name: tiny-random\ntrain:\n  rounds: 3\n  schedule: [rft]\n"
                                     "  rft:\n    learning_rate: 2.0e-05\n")
    tracker = JsonlTracker(run)
    evaluation = {"eval/problems": 10, "eval/samples": 40, "time/eval_s": 2.0, "time/eval_generate_s": 1.5}
    tracker.log({"round": 0, "eval/pass@1": 0.2, **evaluation}, step=0)
    for step in range(1, 7):
        tracker.log({"train/reward": 0.1 * step, "train/completion_tokens": 30 - step}, step=step)
        if step % 2 == 0:
            tracker.log({"round": step // 2, "eval/pass@1": 0.2 + 0.1 * step, "time/generate_s": 3.0,
                         "time/generate_verify_s": 1.0, "time/train_s": 5.0, **evaluation}, step=step)
    (run / "checkpoints" / "round-003").mkdir(parents=True)
    (run / "state.json").write_text(json.dumps({"train_wall_s": 24.0, "eval_wall_s": 8.0, "global_step": 6,
                                                "history": [{"round": r, "strategy": "rft"} for r in (1, 2, 3)],
                                                "checkpoints": [str(run / "checkpoints" / "round-003")]}))
    tracker.log_table("samples", ["prompt", "completion", "status"], [["What is 1+1?", "<b>\\boxed{2}</b>", "correct"]], 6)
    return run


def test_report_writes_pngs_and_self_contained_html(tmp_path):
    page = build_report(fake_run(tmp_path))
    pngs = sorted(p.name for p in page.parent.glob("*.png"))
    assert pngs == ["completion_length.png", "pass_at_1.png", "phase_time.png", "reward.png"]
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 4
    assert "&lt;b&gt;" in text  # completions are escaped, not rendered
    assert "src=\"http" not in text and "<script" not in text


def test_the_first_screen_says_whether_it_worked(tmp_path):
    text = build_report(fake_run(tmp_path)).read_text()
    head = text[:text.index("<h2>")]  # everything before the first chart
    assert VERDICT in head
    assert "3 of 3 training rounds evaluated" in head
    for fact in ("training wall time</th><td>24 s (6 optimizer steps)", "rft learning rate</th><td>2e-05",
                 "checkpoints</th><td>checkpoints/round-003", "<td class='n'>10 &times; 4</td>"):
        assert fact in head, fact
    # one stacked bar per round: phase totals only (generate's verify share is not a phase of its own)
    assert head.index("wall time per round, by phase") < head.index("data:image/png")
    # dates, not epoch seconds; 3 significant digits, not 16
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", head) and not re.search(r"\d\.\d{4,}", head)
    assert not re.search(r"\b1\d{9}\b", text[:text.index("<details>")])
    assert text.index("<details><summary>Last logged metrics line") > text.index("Resolved config")


def test_an_eval_run_reports_its_one_evaluation(tmp_path):
    run = tmp_path / "eval-run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"problems": 40, "samples": 160, "pass@1": 0.28125, "pass@8": 0.975,
                                                  "truncated_fraction": 0.1, "status_counts": {"correct": 45}}))
    head = build_report(run).read_text().split("<h2>")[0]
    assert "an evaluation run" in head and "<td class=\"n\">0.281</td>" in head and "40 &times; 4" in head
    assert "held-out pass@1 <b>0.281</b> (this evaluation), on 40 problems &times; 4 samples" in head


def test_a_run_with_no_round_evaluated_yet_shows_its_starting_point(tmp_path):
    run = tmp_path / "young"
    run.mkdir()
    (run / "config.yaml").write_text("train:\n  rounds: 2\n")
    JsonlTracker(run).log({"round": 0, "eval/pass@1": 0.225, "eval/problems": 40, "eval/samples": 160,
                           "time/eval_s": 938.0}, step=0)
    JsonlTracker(run).log({"round": 1, "time/generate_s": 2923.0}, step=0)
    head = build_report(run).read_text().split("<h2>")[0]
    assert "0 of 2 training rounds evaluated" in head
    assert "held-out pass@1 <b>0.225</b> (before training), on 40 problems &times; 4 samples" in head


def test_report_on_a_non_run_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ReportError, match="neither metrics.jsonl nor metrics.json"):
        build_report(tmp_path)
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "is not a run directory" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp_path, *args):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (launch/test.sh installs it when root)")
def test_report_loads_in_headless_chromium_with_the_headline_first(tmp_path):
    page = build_report(fake_run(tmp_path))
    shot = tmp_path / "shot.png"
    # one run: a screenshot of the first screen, and the page as the browser parsed it
    out = chromium(tmp_path, "--window-size=1200,900", f"--screenshot={shot}", "--dump-dom", page.as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000, out.stderr[-2000:]
    console = [line for line in out.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    dom = out.stdout
    assert VERDICT.replace("&rarr;", "→").replace("&times;", "×") in dom
    assert dom.index("held-out pass@1") < dom.index("<img") < dom.index("Sample traces")
