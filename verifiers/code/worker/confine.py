"""Lock down a freshly forked child before it runs anything untrusted.

Order matters: the process group first, then resource limits, then the uid drop (it needs the
capabilities the jail gave the worker), the parent-death signal (a uid change clears it),
and the seccomp filter last (it forbids further identity changes). The filter arrives
compiled from the host (:mod:`verifiers.code.policy`); only the child's pid is patched in.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import struct
from typing import NamedTuple

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 1, 38, 22, 2
PID_PLACEHOLDER = 0x7EADBEEF  # same constant as verifiers.code.policy
_INSN = struct.Struct("<HBBI")  # struct sock_filter
_PID = struct.Struct("<I")

# Resolved and typed here, in the worker, once: every child inherits it. Looking the symbol up
# and converting arguments inside each freshly forked child cost about 0.2 ms and 40
# copy-on-write page faults per call, measured.
_prctl_fn = _libc.prctl
_prctl_fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_prctl_fn.restype = ctypes.c_int


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Filter:
    """A compiled seccomp program made ready in the worker, before any fork.

    The BPF sits in a C buffer with its ``sock_fprog`` header already built, so a child only
    writes its own pid into the placeholder slots and makes the two ``prctl`` calls. (Building
    the buffers per child, after fork, cost about 0.4 ms more: new objects on copied pages.)
    """

    def __init__(self, bpf: bytes) -> None:
        if len(bpf) % _INSN.size:
            raise ValueError("a BPF program is a whole number of 8-byte instructions")
        self.pid_slots = pid_slots(bpf)
        self._buffer = ctypes.create_string_buffer(bytes(bpf), len(bpf))
        self._fprog = _SockFprog(len(bpf) // _INSN.size, ctypes.addressof(self._buffer))

    def load(self, pid: int) -> None:
        """Install the filter on the calling process, with ``pid`` as the only signal target.
        The buffer is this process's copy-on-write copy: the worker's stays untouched."""
        for offset in self.pid_slots:
            _PID.pack_into(self._buffer, offset, pid)
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)
        _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(self._fprog))


def pid_slots(bpf: bytes) -> tuple[int, ...]:
    """Byte offsets of the ``k`` fields holding the pid placeholder (computed once per filter)."""
    return tuple(offset + 4 for offset in range(0, len(bpf), _INSN.size)
                 if _INSN.unpack_from(bpf, offset)[3] == PID_PLACEHOLDER)


def _prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    if _prctl_fn(option, arg2, arg3, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def _set_limit(which: int, value: int) -> None:
    resource.setrlimit(which, (value, value))


class Limits(NamedTuple):
    """Per-execution limits. ``uid`` ``None`` keeps the worker's uid (weaker jails).

    (A NamedTuple, not a dataclass: :mod:`dataclasses` pulls in :mod:`inspect` and :mod:`ast`,
    1.1 MB more worker heap for every fork to copy and every solution to tear down.)"""

    cpu_s: int
    memory_mb: int
    file_mb: int = 16
    open_files: int = 64
    processes: int = 0  # 0: no fork/clone/exec at all (threads included)
    uid: int | None = None


def confine(limits: Limits, workdir: str | None, parent: int, seccomp: Filter) -> None:
    """Apply every per-execution layer to the calling (just-forked) process. Raises on failure:
    a child that cannot be confined must not run the program."""
    # Own process group, apart from the worker's, for group kills. Not setsid(): a new
    # session also makes a scheduler autogroup, which costs milliseconds per fork.
    os.setpgid(0, 0)
    mb = 1 << 20
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_CPU, limits.cpu_s)
    _set_limit(resource.RLIMIT_AS, limits.memory_mb * mb)
    _set_limit(resource.RLIMIT_FSIZE, limits.file_mb * mb)
    _set_limit(resource.RLIMIT_NOFILE, limits.open_files)
    if limits.uid is not None:
        # RLIMIT_NPROC is enforced for non-root uids only: one more reason to leave root.
        _set_limit(resource.RLIMIT_NPROC, max(limits.processes, 1))
        os.setgroups([])
        os.setresgid(limits.uid, limits.uid, limits.uid)
        os.setresuid(limits.uid, limits.uid, limits.uid)
        if 0 in os.getresuid():
            raise PermissionError("uid drop did not take effect")
    # Die with the worker; then re-check it in case it died before the prctl.
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise OSError("the worker died while this child was starting")
    if workdir is not None:
        os.chdir(workdir)
    seccomp.load(os.getpid())
