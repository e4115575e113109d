"""Isolation levels: the level really in force is reported; weaker ones warn once and run
only when allowed."""

from __future__ import annotations

import warnings

import pytest

from verifiers.code import Sandbox, SandboxUnavailable, sandbox as sandbox_mod
from verifiers.code.isolation import LEVELS, bwrap_command, rank


def test_full_isolation_here():
    with Sandbox(workers=1) as sandbox:
        assert sandbox.isolation == "full", sandbox.isolation_reason


def test_missing_bubblewrap_is_refused_by_default():
    with pytest.raises(SandboxUnavailable, match="allow_weaker_isolation='process'") as info:
        Sandbox(workers=1, bwrap="/nonexistent/bwrap").isolation
    assert "bubblewrap not found" in str(info.value)
    with pytest.raises(SandboxUnavailable):
        Sandbox(workers=1, bwrap="/nonexistent/bwrap", allow_weaker_isolation="namespaces").isolation


def test_weaker_level_runs_when_allowed_and_warns_once(monkeypatch):
    monkeypatch.setattr(sandbox_mod, "_WARNED", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            with Sandbox(workers=1, bwrap="/nonexistent/bwrap", allow_weaker_isolation=True) as sandbox:
                assert sandbox.isolation == "process"
                report = sandbox.run_tests("def f():\n    return 1\n", "assert f() == 1\n")
                assert report["results"][1]["ok"]
                # seccomp still holds at this level
                report = sandbox.run_tests("import socket\ndef f():\n    return socket.socket()\n",
                                           "assert f() is None\n")
                assert "PermissionError" in report["results"][1]["error"]
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "isolation level 'process'" in messages[0]


def test_level_names():
    assert LEVELS == ("process", "namespaces", "full")
    assert rank("full") > rank("namespaces") > rank("process")
    with pytest.raises(ValueError):
        rank("vm")


def test_jail_command_shape():
    cmd = bwrap_command("/usr/bin/bwrap", 0, 64)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in cmd
    assert cmd[cmd.index("--size") + 1] == str(64 << 20)
    assert "--proc" not in cmd and "--bind" not in cmd  # no /proc, nothing writable from the host
