"""The sandbox as an unprivileged user: level ``namespaces`` (user namespaces, one uid).

Runs a child interpreter as ``nobody`` (``runuser``), so it needs root and an interpreter that
``nobody`` can execute; it skips otherwise (e.g. a Python under a 0700 home directory).
Marked slow: it starts its own interpreter and sandbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CHECK = r"""
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
from verifiers.code import CodeVerifier
from verifiers.code.sandbox import Sandbox, SandboxUnavailable
out = {}
try:
    Sandbox(workers=1).isolation
    out["strict"] = "accepted"
except SandboxUnavailable as exc:
    out["strict"] = str(exc)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    v = CodeVerifier(workers=1, allow_weaker_isolation="namespaces")
    out["level"] = v.sandbox.isolation
out["warned"] = [str(w.message) for w in caught]
progs = {
    "ok": ("def f(x):\n    return x + 1\n", "assert f(1) == 2\n"),
    "wrong": ("def f(x):\n    return x\n", "assert f(1) == 2\n"),
    "network": ("import socket\ndef f():\n    socket.socket().connect(('127.0.0.1', 22))\n    return 1\n", "assert f() == 1\n"),
    "fork": ("import os\ndef f():\n    return os.fork()\n", "assert f() >= 0\n"),
    "read_etc": ("def f():\n    return open('/etc/hostname').read()\n", "assert isinstance(f(), str)\n"),
}
out["status"] = {k: v(p, t).status.value for k, (p, t) in progs.items()}
v.close()
print(json.dumps(out))
"""


def _nobody_can_run_python() -> bool:
    if os.geteuid() != 0 or shutil.which("runuser") is None or shutil.which("bwrap") is None:
        return False
    probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", "import sympy"],
                           capture_output=True, timeout=60)
    return probe.returncode == 0


@pytest.mark.slow
def test_namespaces_level_as_an_unprivileged_user():
    if not _nobody_can_run_python():
        pytest.skip("needs root, runuser, bwrap, and an interpreter the user 'nobody' can execute")
    run = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", CHECK, str(REPO)],
                         capture_output=True, text=True, timeout=300, cwd="/tmp")
    assert run.returncode == 0, run.stderr[-2000:]
    out = __import__("json").loads(run.stdout.strip().splitlines()[-1])
    assert "only isolation level 'namespaces' is available" in out["strict"]  # refused unless allowed
    assert out["level"] == "namespaces" and any("namespaces" in w for w in out["warned"])
    assert out["status"] == {"ok": "correct", "wrong": "wrong", "network": "wrong", "fork": "wrong",
                             "read_etc": "wrong"}
