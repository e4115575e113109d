"""Lock down a freshly forked child before it runs anything untrusted.

Order matters: the process group first, then resource limits, then the uid drop (it needs the
capabilities the jail gave the worker), the parent-death signal (a uid change clears it),
and the seccomp filter last (it forbids further identity changes). The filter arrives
compiled from the host (:mod:`verifiers.code.policy`); only the child's pid is patched in.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import resource
import signal
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 1, 38, 22, 2
PID_PLACEHOLDER = 0x7EADBEEF  # same constant as verifiers.code.policy
_INSN = struct.Struct("<HBBI")  # struct sock_filter


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@dataclasses.dataclass(frozen=True)
class Limits:
    """Per-execution limits. ``uid`` ``None`` keeps the worker's uid (weaker jails)."""

    cpu_s: int
    memory_mb: int
    file_mb: int = 16
    open_files: int = 64
    processes: int = 0  # 0: no fork/clone/exec at all (threads included)
    uid: int | None = None


def pid_slots(bpf: bytes) -> tuple[int, ...]:
    """Byte offsets of the ``k`` fields holding the pid placeholder (computed once per filter)."""
    return tuple(offset + 4 for offset in range(0, len(bpf), _INSN.size)
                 if _INSN.unpack_from(bpf, offset)[3] == PID_PLACEHOLDER)


def patch_pid(bpf: bytes, pid: int, slots: tuple[int, ...] | None = None) -> bytes:
    out = bytearray(bpf)
    value = struct.pack("<I", pid)
    for offset in pid_slots(bpf) if slots is None else slots:
        out[offset:offset + 4] = value
    return bytes(out)


def _prctl(*args: int) -> None:
    if _libc.prctl(*[ctypes.c_ulong(a) if isinstance(a, int) else a for a in args]) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl{args[:1]}: {os.strerror(err)}")


def load_filter(bpf: bytes) -> None:
    program = ctypes.create_string_buffer(bpf, len(bpf))
    fprog = _SockFprog(len(bpf) // _INSN.size, ctypes.addressof(program))
    _prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if _libc.prctl(ctypes.c_ulong(_PR_SET_SECCOMP), ctypes.c_ulong(_SECCOMP_MODE_FILTER),
                   ctypes.byref(fprog), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"loading the seccomp filter failed: {os.strerror(err)}")


def _set_limit(which: int, value: int) -> None:
    resource.setrlimit(which, (value, value))


def confine(limits: Limits, workdir: str | None, parent: int, bpf: bytes,
            pid_offsets: tuple[int, ...] | None = None) -> None:
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
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        raise OSError("the worker died while this child was starting")
    if workdir is not None:
        os.chdir(workdir)
    load_filter(patch_pid(bpf, os.getpid(), pid_offsets))
