"""`selfimprove report` from a run directory alone, and the page as a browser shows it."""

import shutil
import subprocess

import pytest

from selfimprove.cli import main
from selfimprove.report import ReportError, build_report
from selfimprove.tracking import JsonlTracker


def fake_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model:\n  name: tiny-random\n")
    tracker = JsonlTracker(run)
    for step in range(1, 7):
        tracker.log({"train/reward": 0.1 * step, "train/completion_tokens": 30 - step}, step=step)
        if step % 2 == 0:
            tracker.log({"round": step // 2, "eval/pass@1": 0.2 + 0.1 * step, "time/generate_s": 3.0,
                         "time/train_s": 5.0}, step=step)
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


def test_report_on_a_non_run_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ReportError, match="neither metrics.jsonl nor metrics.json"):
        build_report(tmp_path)
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "is not a run directory" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (launch/setup.sh installs it when root)")
def test_report_loads_in_headless_chromium_without_console_errors(tmp_path):
    page = build_report(fake_run(tmp_path))
    shot = tmp_path / "shot.png"
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 10_000, out.stderr[-2000:]
    console = [line for line in out.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
