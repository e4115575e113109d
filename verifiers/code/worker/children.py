"""Forking and confining the worker's children: the harness and solution processes."""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import traceback

from . import confine as confine_mod

WORKER_PID = os.getpid()
# Compiled seccomp programs, sent by the host at startup, made ready to load before any fork.
FILTERS: dict[str, confine_mod.Filter] = {}


def set_filters(compiled: dict[str, str]) -> None:
    for name, hexcode in compiled.items():
        FILTERS[name] = confine_mod.Filter(bytes.fromhex(hexcode))


def fork() -> int:
    pid = os.fork()
    if pid:
        # The child sets its own group too; doing it here as well means a group kill right
        # after fork cannot miss it.
        try:
            os.setpgid(pid, pid)
        except (ProcessLookupError, PermissionError):
            pass  # already exited, or already done by the child
    return pid


def run_child(setup_fds: dict[int, int], limits: confine_mod.Limits, workdir: str | None, body) -> None:
    """In a forked child: wire fds, confine, run ``body``; never returns."""
    code = 70
    try:
        # Two passes: a source fd may be another entry's target number.
        high = {target: fcntl.fcntl(source, fcntl.F_DUPFD, 512) for target, source in setup_fds.items()}
        for target, source in high.items():
            os.dup2(source, target, inheritable=True)
        os.closerange(max(setup_fds) + 1, 1 << 16)
        confine_mod.confine(limits, workdir, WORKER_PID, FILTERS["processes" if limits.processes else "strict"])
        code = body()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - the child must always end in os._exit
        try:
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(70)
    os._exit(code if isinstance(code, int) else 0)


def exit_info(status: int | None) -> dict:
    if status is None:
        return {"exit": None, "signal": None}
    if os.WIFSIGNALED(status):
        return {"exit": None, "signal": os.WTERMSIG(status)}
    return {"exit": os.WEXITSTATUS(status), "signal": None}


def killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Standby:
    """A solution process forked and confined ahead of its request, waiting for a program.

    Forking and confining are most of an execution's fixed cost; done between requests they
    leave the critical path. It is forked before the next request's test code ever enters
    the worker, so it cannot hold a copy of it.

    Fields: ``stdin_w`` (its stdin), ``out_r`` and ``err_r`` (its output), ``control_w`` (the
    program goes here), and ``calls_w`` and ``replies_r``, the harness-side ends of the call
    pipes, handed to the harness per execution.
    """

    __slots__ = ("pid", "limits", "workdir", "stdin_w", "out_r", "err_r", "control_w", "calls_w", "replies_r")

    def __init__(self, pid: int, limits: confine_mod.Limits, workdir: str, stdin_w: int, out_r: int,
                 err_r: int, control_w: int, calls_w: int, replies_r: int) -> None:
        self.pid, self.limits, self.workdir = pid, limits, workdir
        self.stdin_w, self.out_r, self.err_r, self.control_w = stdin_w, out_r, err_r, control_w
        self.calls_w, self.replies_r = calls_w, replies_r

    @classmethod
    def fork(cls, limits: confine_mod.Limits, workdir: str, body) -> Standby:
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        calls_r, calls_w = os.pipe()
        replies_r, replies_w = os.pipe()
        control_r, control_w = os.pipe()
        pid = fork()
        if pid == 0:
            run_child({0: stdin_r, 1: out_w, 2: err_w, 3: calls_r, 4: replies_w, 5: control_r},
                      limits, workdir, body)
        for fd in (stdin_r, out_w, err_w, calls_r, replies_w, control_r):
            os.close(fd)
        return cls(pid, limits, workdir, stdin_w, out_r, err_r, control_w, calls_w, replies_r)

    def alive(self) -> bool:
        return os.waitpid(self.pid, os.WNOHANG)[0] == 0

    def close(self, *names: str) -> None:
        """Close our ends by field name; -1 marks them closed (a number closed twice could
        by then belong to a newer pipe)."""
        for name in names:
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def discard(self) -> None:
        killpg(self.pid)
        os.waitpid(self.pid, 0)
        self.close("stdin_w", "out_r", "err_r", "control_w", "calls_w", "replies_r")
