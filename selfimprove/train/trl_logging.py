"""Run a TRL trainer without its console chatter: its log dicts go to the run's log file.

TRL trainers print every log dict (``{'loss': '0.98', 'grad_norm': ...}``) through
transformers' ``PrinterCallback``; in a run of many rounds those lines bury what a person
watches. :func:`train_quietly` swaps it for :class:`_QuietLog`, which writes each dict to the
``selfimprove.trainer`` logger (the run's ``train.log``, see :mod:`selfimprove.console`) and
shows a progress bar of optimizer steps on a terminal. The loop also logs the trainer's
``log_history`` to ``metrics.jsonl`` after the update.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

from tqdm.auto import tqdm
from transformers import PrinterCallback, TrainerCallback

log = logging.getLogger("selfimprove.trainer")


class _QuietLog(TrainerCallback):
    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: tqdm | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            # disable=None: shown on a terminal only, so CI logs and redirected runs stay clean.
            self.bar = tqdm(total=state.max_steps, desc=self.desc, unit="step", leave=False, disable=None)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        if state.is_world_process_zero and logs:
            log.info("%s step %d %s", self.desc, state.global_step, json.dumps(logs, default=float))
            if self.bar is not None and "loss" in logs:
                self.bar.set_postfix(loss=f"{logs['loss']:.3g}")

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def train_quietly(trainer, desc: str | None = None):
    """``trainer.train()`` with its log dicts sent to the log file instead of stdout."""
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(_QuietLog(desc or type(trainer).__name__))
    with warnings.catch_warnings():
        # TRL and peft read transformers' deprecated `is_gradient_checkpointing` (every GRPO step);
        # nothing a user can change, and it would repeat every round.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        return trainer.train()
