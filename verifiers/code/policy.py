"""The seccomp policy of sandboxed children, compiled to BPF on the host.

The worker inside the jail only loads the compiled program (:mod:`.worker.confine`): it does
not need libseccomp, and a child pays one ``prctl`` instead of building a filter. The one
per-process value, the child's own pid (it may signal only itself), is a placeholder
constant patched in after fork.

Default allow, with a deny list: a Python program needs too many syscalls for an allow list
to stay correct across interpreter and libc versions. Calls from foreign ABIs (i386, x32)
kill the process (libseccomp's default), so the list cannot be bypassed through them.
"""

from __future__ import annotations

import errno
import tempfile

import pyseccomp as sc

PID_PLACEHOLDER = 0x7EADBEEF

# Each a route out of the jail or into the kernel's least-hardened code; EPERM, not a kill,
# so the program sees an ordinary error.
DENIED = (
    # network: no sockets at all (the jail also has its own empty network namespace)
    "socket",
    # reading or writing other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "pidfd_open",
    # new namespaces, mounts, root changes (would let a program rebuild its own view)
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # large kernel attack surfaces with no use here
    "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key",
    "request_key", "bpf", "perf_event_open", "userfaultfd", "open_by_handle_at",
    "name_to_handle_at", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "swapon", "swapoff", "reboot", "acct", "quotactl", "lookup_dcookie",
    # identity changes: the uid drop happens before the filter loads, none after
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid",
)
PROCESS_CREATION = ("fork", "vfork", "clone", "clone3", "execve", "execveat")
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME: never, even when
# processes are allowed.
CLONE_NS_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                  0x40000000, 0x00000080)
SIGNALS = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")


def build_filter(allow_processes: bool) -> sc.SyscallFilter:
    eperm = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(sc.ALLOW)
    for name in DENIED:
        f.add_rule(eperm, name)
    if allow_processes:
        # clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc use clone.
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        for flag in CLONE_NS_FLAGS:
            f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    else:
        for name in PROCESS_CREATION:
            f.add_rule(eperm, name)
        # Signals only to itself: it has no business with the harness or the worker. (With
        # processes allowed it must signal its children; the uid separation guards the rest.)
        for name in SIGNALS:
            f.add_rule(eperm, name, sc.Arg(0, sc.NE, PID_PLACEHOLDER))
        f.add_rule(eperm, "pidfd_send_signal")
    return f


def compile_bpf(allow_processes: bool) -> bytes:
    """The filter as a raw ``struct sock_filter[]``, pid placeholder included."""
    with tempfile.TemporaryFile() as out:
        build_filter(allow_processes).export_bpf(out)
        out.seek(0)
        return out.read()
