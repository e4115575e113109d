"""The command line as a user meets it: --help, bad input, and the eval job end to end."""

import json
import subprocess
import sys

import datasets
import pytest

from selfimprove.cli import build_parser, main


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "selfimprove.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("command", ["eval", "verify"])
def test_every_option_has_help(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        assert action.help, f"{command} {action.option_strings} has no help"


def test_help_runs():
    out = cli("--help")
    assert out.returncode == 0 and "eval" in out.stdout and "verify" in out.stdout


def test_misspelled_config_key_is_one_line_with_closest_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sampling:\n  num_sample: 4\n")
    out = cli("eval", "--config", str(bad))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "'sampling.num_sample'" in lines[0] and "'sampling.num_samples'" in lines[0] and str(bad) in lines[0]


def test_unknown_model_names_the_fix(tmp_path, capsys):
    rc = main(["eval", "--set", "model.name=/nonexistent/model", "--set", f"run.output_dir={tmp_path}"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "cannot load model '/nonexistent/model'" in err and "Fix:" in err


def test_eval_end_to_end_on_tiny_model(tmp_path, capsys):
    rc = main([
        "eval", "--set", "model.name=tiny-random", "--set", f"run.output_dir={tmp_path}", "--set", "run.name=e2e",
        "--set", "task.num_test=6", "--set", "sampling.num_samples=4", "--set", "sampling.max_new_tokens=8",
        "--set", "eval.ks=[1, 4]", "--set", "verifier.workers=1",
    ])
    assert rc == 0
    out = capsys.readouterr().out
    assert "pass@1" in out and "pass@4" in out and "tokens_per_s" in out
    run = tmp_path / "e2e"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["samples"] == 24 and sum(metrics["status_counts"].values()) == 24
    traces = datasets.load_dataset("parquet", data_files=str(run / "traces" / "eval.parquet"), split="train")
    assert len(traces) == 24 and set(traces["status"]) <= {"correct", "wrong", "invalid"}
    assert (run / "config.yaml").exists()
    # the same run name again is refused rather than silently overwritten
    assert main(["eval", "--set", "model.name=tiny-random", "--set", f"run.output_dir={tmp_path}",
                 "--set", "run.name=e2e"]) == 2


def test_verify_command(tmp_path):
    rows = [
        {"completion": "so the answer is \\boxed{1,000}", "reference": "1000", "id": 1},
        {"completion": "#### 7", "reference": "8", "id": 2},
        {"completion": "no number here", "reference": "3", "id": 3},
    ]
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = cli("verify", "--verifier", "math", "--input", str(src), "--output", str(dst), "--workers", "1")
    assert out.returncode == 0, out.stderr
    graded = [json.loads(line) for line in dst.read_text().splitlines()]
    assert [g["id"] for g in graded] == [1, 2, 3]
    assert [g["status"] for g in graded] == ["correct", "wrong", "invalid"]
    assert "correct=1, wrong=1, invalid=1" in out.stdout


def test_verify_bad_input_names_the_line(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "1", "reference": "1"}\n{"completion": "2"}\n')
    out = cli("verify", "--verifier", "math", "--input", str(src), "--output", str(tmp_path / "o.jsonl"))
    assert out.returncode == 2
    assert f"{src}:2: missing key(s) ['reference']" in out.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_verify_unknown_verifier_lists_available(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "1", "reference": "1"}\n')
    out = cli("verify", "--verifier", "mathh", "--input", str(src), "--output", str(tmp_path / "o.jsonl"))
    assert out.returncode == 2
    assert "unknown verifier 'mathh'" in out.stderr and "Did you mean 'math'" in out.stderr and "code" in out.stderr
