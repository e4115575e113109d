"""Isolation levels, and the command line that starts a worker at each.

``full``
    bubblewrap jail (own network, PID, IPC, UTS and mount namespaces; read-only system; a
    size-capped private tmpfs; no /proc; empty environment; dies with its parent) and, per
    execution, the harness and the program under two distinct non-root uids. Needs bwrap run
    as root (the jail keeps CAP_SETUID/SETGID/KILL/DAC_OVERRIDE/FOWNER only in the worker;
    children lose every capability when they leave uid 0).
``namespaces``
    the same jail through an unprivileged user namespace (a non-root user): one uid for
    everything, so the program could signal the harness (which only makes it fail) and
    RLIMIT_NPROC counts every process of the real user.
``process``
    no jail (bubblewrap missing, or user namespaces disabled, as on many clusters): forked
    children with rlimits and the seccomp filter only; the program can read whatever the user
    can and write where the user can. Only for trusted code or throwaway machines.
"""

from __future__ import annotations

import itertools
import os
import shutil
import site
import sys
from pathlib import Path

LEVELS = ("process", "namespaces", "full")  # weakest first
UID_BASE = 2_000_000_000  # far above any account: collisions with real users are implausible
_uid_counter = itertools.count()


def next_uid_index() -> int:
    """A uid pair index unique to one worker slot of one process (two sandboxes, or two
    trainer ranks, never share uids: RLIMIT_NPROC and signals are per uid)."""
    return (os.getpid() % 100_000) * 1000 + next(_uid_counter) % 1000
WORKER_DIR = Path(__file__).resolve().parent / "worker"
# Numeric libraries must not start thread pools: the program may have no threads at all.
THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMEXPR_NUM_THREADS": "1"}
JAIL_WORKER = "/sandbox/worker"


def rank(level: str) -> int:
    if level not in LEVELS:
        raise ValueError(f"unknown isolation level {level!r}; choose one of {', '.join(LEVELS)}")
    return LEVELS.index(level)


def _python_roots() -> list[str]:
    """Directories the interpreter and its site-packages need, read-only."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    return sorted(r for r in roots if not r.startswith("/usr/"))


def _site_packages() -> list[str]:
    return [path for path in site.getsitepackages() if os.path.isdir(path)]


def _bootstrap(worker_parent: str) -> str:
    # The worker runs with -S: site's start-up work (.pth files: editable installs,
    # setuptools' shim) added 0.7 MB to the heap every solution fork copies. What programs
    # need of site comes back by hand: the site-packages directories on sys.path (not
    # packages only a .pth file makes importable), and exit()/quit()/help() (importing site
    # under -S runs none of its start-up).
    return (f"import sys; sys.path.insert(0, {worker_parent!r}); sys.path.extend({_site_packages()!r}); "
            "import site; site.setquit(); site.setcopyright(); site.sethelper(); "
            "from worker.main import main; sys.exit(main(sys.argv[1:]))")


def bwrap_command(bwrap: str, uid_index: int, tmpfs_mb: int) -> list[str]:
    """The jail. As root: no user namespace, a few capabilities kept for the worker itself.
    Otherwise: an unprivileged user namespace (fails where the node disables them)."""
    root = os.geteuid() == 0
    cmd = [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid",
           "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if root:
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER"):
            cmd += ["--cap-add", cap]
    else:
        cmd += ["--unshare-user"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    # ctypes.util.find_library (pyseccomp loading libseccomp) reads the loader cache.
    cmd += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    # The private /tmp comes before the interpreter binds: an interpreter that lives under /tmp
    # (a venv in a clone there) would otherwise be hidden by the tmpfs mounted over it.
    cmd += ["--size", str(tmpfs_mb << 20), "--perms", "0755", "--tmpfs", "/tmp"]
    made: set[str] = set()
    for path in _python_roots():
        # Parents bwrap creates are 0700 by default: a non-root uid could not traverse them.
        parts = Path(path).parts
        for i in range(2, len(parts)):
            parent = str(Path(*parts[:i]))
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0755", "--dir", parent]
        cmd += ["--ro-bind", path, path]
    cmd += ["--perms", "0755", "--dir", "/sandbox", "--ro-bind", str(WORKER_DIR), JAIL_WORKER,
            "--dev", "/dev", "--chdir", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    for name, value in THREAD_ENV.items():
        cmd += ["--setenv", name, value]
    uid_base = UID_BASE if root else -1
    cmd += [sys.executable, "-I", "-B", "-S", "-c", _bootstrap("/sandbox"), str(uid_index), str(uid_base), "jail"]
    return cmd


def process_command(uid_index: int) -> list[str]:
    """No jail: the worker as a plain child process (weakest level)."""
    uid_base = UID_BASE if os.geteuid() == 0 else -1
    return [sys.executable, "-I", "-B", "-S", "-c", _bootstrap(str(WORKER_DIR.parent)), str(uid_index),
            str(uid_base), "nojail"]


def find_bwrap(configured: str | None) -> str | None:
    if configured is not None:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")
