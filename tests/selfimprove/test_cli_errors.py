"""Bad inputs to ``selfimprove train``: one line on the console naming the file (and row) and the fix;
the traceback goes to the run's train.log."""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from selfimprove.cli import main
from tests.support import as_sets

REPO = Path(__file__).resolve().parents[2]
#: One small round of the tiny model (see tests/support.py): seconds on a CPU.
SMALL = {"model.name": "tiny-random", "run.device": "cpu", "verifier.name": "tests.support:starts_with_digit",
         "verifier.workers": 1, "task.num_train": 8, "task.num_test": 4, "sampling.max_new_tokens": 6,
         "sampling.num_samples": 2, "eval.ks": "[1]", "train.rounds": 1, "train.eval_before": False,
         "train.prompts_per_round": 8, "train.rft.samples_per_prompt": 4, "train.rft.rationalize.enabled": False,
         "train.rft.batch_size": 8, "train.rft.epochs": 1}


def train(parent: Path, *extra: str, **settings: object) -> tuple[int, list[str]]:
    """Run ``selfimprove train`` in-process on the run ``parent/run``; (exit code, stderr lines)."""
    import io
    from contextlib import redirect_stderr

    err = io.StringIO()
    with redirect_stderr(err):
        rc = main(["train", *as_sets(SMALL | {"run.output_dir": parent, "run.name": "run"} | settings), *extra])
    return rc, err.getvalue().strip().splitlines()


def one_line_naming(rc: int, lines: list[str], *names: object) -> str:
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0].startswith("selfimprove train: error: ")
    assert all(str(n) in lines[0] for n in names), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("finished")
    assert train(parent)[0] == 0
    return parent


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    shutil.copytree(finished / "run", tmp_path / "run")
    return tmp_path


def data(tmp_path: Path, content: bytes) -> dict[str, object]:
    (tmp_path / "data.jsonl").write_bytes(content)
    return {"task.name": "jsonl", "task.path": tmp_path / "data.jsonl"}


ROWS = b"".join(b'{"question": "%d - 1", "answer": "%d"}\n' % (i, i - 1) for i in range(2, 10))


def test_empty_jsonl_then_the_same_command_runs_once_it_is_fixed(tmp_path):
    settings = data(tmp_path, b"")
    one_line_naming(*train(tmp_path, **settings), tmp_path / "data.jsonl", "the file is empty")
    assert "Traceback" in (tmp_path / "run" / "train.log").read_text()

    (tmp_path / "data.jsonl").write_bytes(ROWS)  # fixed: the directory the failed start left is reused
    rc, lines = train(tmp_path, **settings)
    assert rc == 0, lines
    assert json.loads((tmp_path / "run" / "state.json").read_text())["completed"][-1] == "1:eval"


def test_malformed_jsonl_line(tmp_path):
    first, rest = ROWS.split(b"\n", 1)
    settings = data(tmp_path, first + b'\n{"question": "7 - 1", "answer": \n' + rest)
    one_line_naming(*train(tmp_path, **settings), f"{tmp_path / 'data.jsonl'}:2:", "line 2 is not valid JSON")


def test_non_utf8_jsonl(tmp_path):
    settings = data(tmp_path, ROWS + b'{"question": "caf\xe9", "answer": "1"}\n')
    one_line_naming(*train(tmp_path, **settings), tmp_path / "data.jsonl", f"byte {len(ROWS) + 17} (line 9)")


def test_truncated_state_json(copy):
    state = copy / "run" / "state.json"
    state.write_text(state.read_text()[:50])
    one_line_naming(*train(copy, "--resume", **{"train.rounds": 2}), state, "truncated or not JSON", "restore it")
    assert "Traceback" in (copy / "run" / "train.log").read_text()


def test_truncated_manifest_json(copy):
    manifest = copy / "run" / "traces" / "manifest.json"
    manifest.write_text(manifest.read_text()[:30])
    one_line_naming(*train(copy, "--resume", **{"train.rounds": 2}), manifest, "truncated or not JSON")


def test_truncated_checkpoint_weights(copy):
    weights = copy / "run" / "checkpoints" / "round-001" / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    one_line_naming(*train(copy, "--resume", **{"train.rounds": 2}), weights, "truncated or damaged", "copy the checkpoint")


def test_full_disk_names_the_checkpoint_and_the_run_resumes(tmp_path, monkeypatch):
    import transformers

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(transformers.PreTrainedModel, "save_pretrained", full)
        line = one_line_naming(*train(tmp_path), tmp_path / "run" / "checkpoints" / "round-001", "disk full")
    assert "--resume" in line
    assert not list((tmp_path / "run" / "checkpoints").iterdir())  # no half-written checkpoint left behind
    assert "OSError: [Errno 28]" in (tmp_path / "run" / "train.log").read_text()

    rc, lines = train(tmp_path, "--resume")  # the disk has room again: the last committed phase is kept
    assert rc == 0, lines
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["completed"] == ["1:generate", "1:train", "1:eval"] and state["checkpoint"] == "checkpoints/round-001"


def test_console_shows_one_line_from_a_real_process(tmp_path):
    """In-process runs share pytest's logging; a real process shows exactly what a user sees."""
    settings = data(tmp_path, b"\n")
    cmd = [sys.executable, "-m", "selfimprove.cli", "train", *as_sets(SMALL | settings | {"run.output_dir": tmp_path})]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [f"selfimprove train: error: {tmp_path / 'data.jsonl'}: the file is empty "
                                                '(no JSON lines); each line must be one JSON object, e.g. {"question": '
                                                '"1 + 2", "answer": "3"}, or point task.path elsewhere']
