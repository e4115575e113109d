"""A stop request (SIGTERM, SIGUSR1, the stop file) ends ``selfimprove train`` at a safe point.

The handler only records the request; :func:`preemption.check` (before each phase) and
:class:`preemption.StopOnRequest` (between optimizer steps) act on it, on every rank at once.
The SLURM path (warning signal, stop file, requeue) is tests/launch/test_slurm_requeue.py.
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from selfimprove.train import preemption
from tests.launch.helpers import run_two_ranks
from tests.support import TINY_RANKS, as_sets

REPO = Path(__file__).resolve().parents[3]


def test_a_signal_is_recorded_and_acted_on_at_the_next_check(monkeypatch):
    monkeypatch.delenv(preemption.STOP_FILE_ENV, raising=False)
    before = signal.getsignal(signal.SIGUSR1)
    with preemption.handle_signals("selfimprove train --resume", announce=False):
        preemption.check("round 1 sampling")  # nothing asked yet: passes
        os.kill(os.getpid(), signal.SIGUSR1)  # would end the process without the handler
        with pytest.raises(preemption.Preempted) as stop:
            preemption.check("round 1 train")
    assert str(stop.value) == ("stopped by SIGUSR1 before round 1 train; every completed phase is committed. "
                               "Resume with: selfimprove train --resume")
    assert signal.getsignal(signal.SIGUSR1) is before  # restored


def test_the_stop_file_asks_as_a_signal_does(tmp_path, monkeypatch):
    stop = tmp_path / "stop-requested"
    monkeypatch.setenv(preemption.STOP_FILE_ENV, str(stop))
    with preemption.handle_signals("cmd", announce=False):
        assert preemption.requested() is None
        stop.touch()
        assert preemption.requested() == f"the stop file {stop}"


class _Data(torch.utils.data.Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        return {"x": torch.tensor([float(i % 7)]), "y": torch.tensor([1.0])}


class _Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(1, 1)

    def forward(self, x, y):
        return {"loss": ((self.w(x) - y) ** 2).mean()}


class _AskAtStep(preemption.StopOnRequest):
    """Requests the stop during optimizer step ``at`` (as a signal arriving then would)."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            preemption.request("SIGTERM")
        return super().on_step_end(args, state, control, **kwargs)


def test_a_trainer_stops_after_the_step_in_progress_and_raises(tmp_path, monkeypatch):
    from transformers import Trainer, TrainingArguments

    monkeypatch.delenv(preemption.STOP_FILE_ENV, raising=False)
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=10, per_device_train_batch_size=4, report_to=[],
                             save_strategy="no", use_cpu=True, disable_tqdm=True, logging_steps=1)
    trainer = Trainer(model=_Model(), args=args, train_dataset=_Data(), callbacks=[_AskAtStep(3)])
    with preemption.handle_signals("cmd", announce=False), pytest.raises(preemption.Preempted) as stop:
        preemption.check("round 2 train")
        trainer.train()
    assert trainer.state.global_step == 3  # steps 4..10 never ran
    assert "stopped by SIGTERM in round 2 train after optimizer step 3" in str(stop.value)


_RANKS = """
import sys
from selfimprove import distributed
from selfimprove.train import preemption
distributed.init()
if sys.argv[1] == "1":
    preemption.request("SIGUSR1")  # only rank 1 was signalled
try:
    preemption.check("round 3 eval")
    print("went on")
except preemption.Preempted as stop:
    print(stop)
distributed.shutdown()
"""


def test_every_rank_stops_at_the_same_check_when_one_was_signalled(tmp_path):
    logs = run_two_ranks(_RANKS, [], tmp_path)
    out = [log.read_text() for log in logs]
    assert "stopped by a stop requested on another rank before round 3 eval" in out[0], out
    assert "stopped by SIGUSR1 before round 3 eval" in out[1], out


def test_sigterm_stops_train_with_one_line_and_resume_completes(tmp_path):
    sets = as_sets(TINY_RANKS | {"run.output_dir": str(tmp_path), "run.name": "stopped"})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "selfimprove.cli", "train", *sets], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = tmp_path / "stopped" / "state.json"
    deadline = time.monotonic() + 300
    while not (state.exists() and "1:generate" in json.loads(state.read_text())["completed"]):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == preemption.EXIT_CODE, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("selfimprove train: SIGTERM received: stopping at the next safe point"), err
    assert len(lines) == 2 and lines[1].startswith("selfimprove train: stopped by SIGTERM "), err
    assert "round 1 train" in lines[1] or "round 1 eval" in lines[1], err  # the next safe point after round 1's sampling
    line = lines[1].removeprefix("selfimprove train: ")
    assert line in (tmp_path / "stopped" / "train.log").read_text()
    done = json.loads(state.read_text())["completed"]
    assert "2:eval" not in done

    command = shlex.split(line.split("Resume with: ")[1])
    assert command[:2] == ["selfimprove", "train"] and command[-1] == "--resume"
    resumed = subprocess.run([sys.executable, "-m", "selfimprove.cli", *command[1:]], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{len(done)} phases done" in resumed.stdout
    assert json.loads(state.read_text())["completed"] == ["0:eval", "1:generate", "1:train", "1:eval",
                                                          "2:generate", "2:train", "2:eval"]
