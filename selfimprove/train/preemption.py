"""Stopping ``selfimprove train`` cleanly when the cluster asks: SIGTERM, SIGUSR1 or a stop file.

SLURM sends SIGTERM at a time limit or a preemption (SIGKILL follows ``KillWait`` seconds later,
30 by default), and a warning signal of your choice before the time limit when asked
(``#SBATCH --signal=B:USR1@300``). Without a handler the process died at once with -15 and no
message. :func:`handle_signals` installs one that only records the request; the run acts on it
at its next *safe point*, where every rank calls :func:`check`:

- before a phase starts its work (a round's sampling, its update, its evaluation), so nothing
  of that phase has run yet;
- between optimizer steps, through :class:`StopOnRequest` (a transformers ``TrainerCallback``):
  the trainer stops after the step in progress and the update is abandoned, not saved.

There it raises :class:`Preempted`: ``selfimprove train`` prints one line naming the request,
where the run stopped and the exact command to resume (``train.log`` gets it too), and exits
with :data:`EXIT_CODE`, 75 (``EX_TEMPFAIL`` of sysexits.h: "try again later").

What a stop keeps: every completed phase, each committed atomically (see
:mod:`selfimprove.train.ledger`). What it loses: a phase cut short is run again from its start,
with the same seed, by ``--resume``; phases are not checkpointed part-way. An update stopped
between steps is redone from the last checkpoint; a sampling phase or an evaluation under way
when the request comes runs to its end and is committed before the run stops (so a warning
signal should come at least one sampling phase before the limit; SIGTERM then SIGKILL usually
leaves 30 s). A second signal does not hurry the stop; SIGKILL does (and loses the phase).

Several ranks: a signal reaches the ranks at different instants, or only some of them. Every
check all-reduces the request, so all ranks stop at the same safe point and none is left
waiting in a collective.

``$SELFIMPROVE_STOP_FILE``: when that path exists, a stop is requested as if signalled.
launch/slurm/train.sbatch uses it: SLURM's warning signal goes to the batch shell only, which
creates the file, because a signal sent to every process of the job step would also reach
torchrun (it dies on SIGUSR1) and the verifier workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any, Iterator

from transformers import TrainerCallback

EXIT_CODE = 75
SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
STOP_FILE_ENV = "SELFIMPROVE_STOP_FILE"

_requested: str | None = None  # what asked for the stop in this process: "SIGTERM", "SIGUSR1", ...
_phase = "the run's first phase"  # what the run is doing now: named by the last check it passed
_resume = "selfimprove train ... --resume"  # the exact command, set by handle_signals
_announce = True  # say on stderr when the first signal arrives (rank 0 only)


class Preempted(Exception):
    """The run stopped at a safe point because a stop was requested; ``str()`` is the line to print."""


def request(reason: str) -> None:
    """Ask the run to stop at its next safe point (what the signal handler does)."""
    global _requested
    if _requested is None:
        _requested = reason


def _on_signal(signum: int, frame: Any) -> None:
    first = _requested is None
    request(signal.Signals(signum).name)
    if first and _announce:  # os.write: safe inside a handler, unlike print
        os.write(2, f"selfimprove train: {signal.Signals(signum).name} received: stopping at the next safe point "
                    "(before the next phase or after the current optimizer step)\n".encode())


@contextlib.contextmanager
def handle_signals(resume_command: str, *, announce: bool = True) -> Iterator[None]:
    """Record SIGTERM and SIGUSR1 as stop requests while the block runs (main thread only);
    ``resume_command`` goes into the stop message. The previous handlers come back on exit, and
    a request not acted on is forgotten (it must not stop a later run in the same process)."""
    global _requested, _resume, _announce, _phase
    _requested, _resume, _announce, _phase = None, resume_command, announce, "the run's first phase"
    previous = {sig: signal.signal(sig, _on_signal) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested = None


def _local_request() -> str | None:
    if _requested is not None:
        return _requested
    path = os.environ.get(STOP_FILE_ENV)
    if path and os.path.exists(path):
        return f"the stop file {path}"
    return None


def requested() -> str | None:
    """Why the run should stop, agreed by every rank (a collective: all ranks call it together)."""
    import torch
    import torch.distributed as dist

    local = _local_request()
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return local
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    flag = torch.tensor([0 if local is None else 1], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return local or ("a stop requested on another rank" if flag.item() else None)


def message(reason: str, where: str) -> str:
    return (f"stopped by {reason} {where}; every completed phase is committed. "
            f"Resume with: {_resume}")


def check(phase: str) -> None:
    """A safe point before ``phase`` starts its work (e.g. ``"round 2 eval"``): raises
    :class:`Preempted` when a stop was requested. Every rank calls it, in the same order."""
    global _phase
    reason = requested()
    if reason is not None:
        raise Preempted(message(reason, f"before {phase}"))
    _phase = phase


class StopOnRequest(TrainerCallback):
    """Stops a transformers trainer after the optimizer step in progress when a stop was
    requested, then raises :class:`Preempted` out of ``trainer.train()`` (from ``on_train_end``,
    once the trainer has left its loop), so the strategy returns no partial update to commit."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.step = 0

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001 - transformers' callback signature
        self.reason = requested()
        if self.reason is not None:
            self.step = state.global_step
            control.should_training_stop = True
        return control

    def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if self.reason is not None:
            raise Preempted(message(self.reason, f"in {_phase} after optimizer step {self.step} "
                                                 "(that update is not saved; --resume redoes it)"))
