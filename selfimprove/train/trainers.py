"""Running TRL trainers inside the loop: quietly, and leaving nothing behind.

:func:`release` tears a finished trainer down so nothing of it outlives its round: under
DeepSpeed the engine registers hooks on the model's parameters that point back to it (and
through its scheduler's closures to the trainer), and the policy model lives on into the next
round, so without this every round's engine, optimizer state and trainer stayed alive (memory
grew round after round, the engine-in-a-loop leak of deepspeedai/DeepSpeed#5143).

Console:

TRL trainers print every log dict (``{'loss': '0.98', 'grad_norm': ...}``) through
transformers' ``PrinterCallback``; in a run of many rounds those lines bury what a person
watches. :func:`train_quietly` swaps it for :class:`_QuietLog`, which writes each dict to the
``selfimprove.trainer`` logger (the run's ``train.log``, see :mod:`selfimprove.console`) and
shows a progress bar of optimizer steps on a terminal. The loop also logs the trainer's
``log_history`` to ``metrics.jsonl`` after the update.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import warnings
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import PrinterCallback, TrainerCallback

from selfimprove.failpoints import failpoint
from selfimprove.train import preemption

log = logging.getLogger("selfimprove.trainer")


class _QuietLog(TrainerCallback):
    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: tqdm | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            # disable=None: shown on a terminal only, so CI logs and redirected runs stay clean.
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc=self.desc, unit="step", leave=False,
                            disable=None)

    def on_step_end(self, args, state, control, **kwargs):
        failpoint("train-step")
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


class NonFiniteUpdateError(RuntimeError):
    """An optimizer step produced a non-finite loss, gradient norm or weight: the update is void."""


class _FiniteGuard(TrainerCallback):
    """Stop ``train()`` at the first logged step whose loss or gradient norm is not finite.

    Every rank logs the same reduced values, so every rank raises at the same step. The weights
    in memory are spoilt by then; the loop does not commit them (see ``Loop.train``).
    """

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        bad = {k: v for k in ("loss", "grad_norm") if isinstance(v := (logs or {}).get(k), (int, float))
               and not math.isfinite(v)}
        if bad:
            raise NonFiniteUpdateError(f"step {state.global_step}: " + ", ".join(f"{k} {v}" for k, v in bad.items()))


def check_finite(model) -> None:  # noqa: ANN001 - a torch module
    """Raise :class:`NonFiniteUpdateError` naming the first parameter that holds inf or NaN."""
    for name, param in model.named_parameters():
        if not torch.isfinite(param).all():
            raise NonFiniteUpdateError(f"after the update, parameter {name} holds inf or NaN")


def train_quietly(trainer, desc: str | None = None, resume_from_checkpoint: str | None = None):
    """``trainer.train()`` with its log dicts sent to the log file instead of stdout, stopped by a
    non-finite loss or gradient norm (:class:`NonFiniteUpdateError`)."""
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(_QuietLog(desc or type(trainer).__name__))
    trainer.add_callback(_FiniteGuard())
    trainer.add_callback(preemption.StopOnRequest())  # a stop request ends the update between optimizer steps
    with warnings.catch_warnings():
        # TRL and peft read transformers' deprecated `is_gradient_checkpointing` (every GRPO step), and
        # TRL's unwrap_model_for_generation calls the deprecated gradient_checkpointing_disable/enable
        # around each rollout; nothing a user can change, and it would repeat every round.
        warnings.filterwarnings("ignore", message=".*(is_gradient_checkpointing|gradient_checkpointing_(dis|en)able)",
                                category=FutureWarning)
        return trainer.train(resume_from_checkpoint=resume_from_checkpoint)


def release(trainer, keep) -> None:  # noqa: ANN001 - a transformers Trainer and the policy's module
    """Destroy ``trainer``'s accelerator state (the DeepSpeed engine and its optimizer included).

    ``keep`` is the module the policy goes on with. When it is not the trainer's module (under
    ZeRO-3 the policy continues as a consolidated copy) the partitioned module is discarded: all
    hooks on it are removed, since ZeRO-3's (and those TRL re-adds after each generation) hold the
    engine and would keep the module, the engine and the trainer alive.
    """
    wrapped = getattr(trainer.accelerator, "deepspeed_engine_wrapped", None)
    if wrapped is not None:
        # DeepSpeedEngine.destroy() (deepspeed 0.19) removes its optimizer's gradient hooks but not
        # the forward hooks it put on the module, whose closures hold the engine; the module is
        # our policy and lives on, so remove them here.
        for name in ("module_forward_pre_hook", "module_forward_post_hook", "first_dataloader_check"):
            handle = getattr(wrapped.engine, name, None)
            if handle is not None:
                handle.remove()
                setattr(wrapped.engine, name, None)
        # ZeRO optimizers keep the engine's `_backward_post_hook` in a hook state that their
        # gradient-accumulation hooks (autograd nodes, held from C++) still reach after destroy():
        # under ZeRO-3 that kept the engine, and through it the trainer, alive after the round.
        unregister = getattr(wrapped.engine.optimizer, "unregister_grad_acc_post_hooks", None)
        if unregister is not None:
            unregister()
    trainer.accelerator.free_memory()  # DeepSpeedEngine.destroy() and the optimizer's own destroy()
    if trainer.model is not keep:
        for module in trainer.model.modules():
            for hooks in (module._forward_pre_hooks, module._forward_hooks, module._backward_hooks,
                          module._backward_pre_hooks):
                hooks.clear()


def collect_garbage() -> None:
    """Free released trainers now; call it once the update that used them has returned.

    Trainer, engine and callbacks refer to each other, so only the cycle collector frees them,
    and waiting for its next automatic pass would keep a whole engine and its optimizer state
    alive into the next phase.
    """
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
