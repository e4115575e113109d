"""One adversarial test per sandbox property (see the docstring of verifiers/code/sandbox.py).

Every attack is really attempted by a program run in the sandbox; each test asserts both that
the program gained nothing (no credit, no side effect on the host) and, where it makes the
test meaningful, that the same attack succeeds outside the sandbox (a control), so the test
could fail.
"""

from __future__ import annotations

import os
import socket
import textwrap
import time
from pathlib import Path

import pytest

from tests.verifiers.sandbox_probes import processes_of, wait_for
from verifiers.base import Status
from verifiers.code import CodeVerifier, Sandbox

pytestmark = pytest.mark.skipif(not Path("/usr/bin/bwrap").exists(), reason="needs bubblewrap")

SECRET_ENV = "SELFIMPROVE_SANDBOX_TEST_SECRET"
os.environ.setdefault(SECRET_ENV, "hunter2-env")  # set before any worker starts


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier(workers=1, timeout_s=2.0, memory_mb=256)
    assert v.sandbox.isolation == "full", v.sandbox.isolation_reason
    yield v
    v.close()


def run(verifier: CodeVerifier, program: str, tests: str = "assert f() == 'ok'\n", **fields):
    return verifier(textwrap.dedent(program), tests, **fields)


def solution_uids(sandbox: Sandbox) -> set[int]:
    return {w.hello["solution_uid"] for w in sandbox._workers.values()}


# -- network ---------------------------------------------------------------------------------
@pytest.mark.parametrize("family,address", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_network_loopback_unreachable(verifier, family, address):
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((address, 0))
    listener.listen(4)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    attack = f"""
        import socket
        def f():
            errors = []
            for make in (lambda: socket.socket(socket.{family.name}, socket.SOCK_STREAM),
                         lambda: socket.create_connection(({address!r}, {port}), timeout=1)):
                try:
                    s = make()
                    s.connect(({address!r}, {port}))
                    s.sendall(b"escaped")
                    return "connected"
                except OSError as exc:
                    errors.append(exc.errno)
            return "blocked" if errors == [1, 1] else errors
        """
    result = run(verifier, attack, "assert f() == 'blocked'\n")
    assert result.correct, result.feedback  # both attempts failed with EPERM
    with pytest.raises(socket.timeout):
        listener.accept()  # nothing got through
    # Control: the same connection from outside the sandbox does get through.
    with socket.create_connection((address, port), timeout=1):
        conn, _ = listener.accept()
        conn.close()
    listener.close()


# -- files -----------------------------------------------------------------------------------
def test_cannot_read_files_outside(verifier, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2-file")
    secret.chmod(0o644)
    for parent in (tmp_path, *tmp_path.parents):
        if str(parent) == "/":
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o055)  # world-readable: only the jail stops it
    targets = [str(secret), str(Path(__file__).resolve()), "/etc/passwd", "/proc/1/environ", "/root/.bashrc"]
    attack = f"""
        def f():
            leaked = []
            for path in {targets!r}:
                try:
                    with open(path) as fh:
                        leaked.append(fh.read(200))
                except OSError:
                    pass
            return leaked or "ok"
        """
    result = run(verifier, attack)
    assert result.correct, result.feedback  # every open failed
    assert "hunter2" not in str(result.details)
    assert Path(targets[0]).read_text() == "hunter2-file"  # control: readable from the host


def test_cannot_write_outside_own_directory(verifier, tmp_path):
    targets = [str(tmp_path / "escaped.txt"), "/tmp/escaped-from-sandbox.txt", "/usr/escaped.txt",
               "/escaped.txt", "../escaped.txt", "/dev/shm/escaped.txt"]
    attack = f"""
        import os
        def f():
            written = []
            for path in {targets!r}:
                try:
                    with open(path, "w") as fh:
                        fh.write("x")
                    written.append(path)
                except OSError:
                    pass
            with open("own.txt", "w") as fh:  # its own directory is writable
                fh.write("fine")
            return written or "ok"
        """
    result = run(verifier, attack)
    assert result.correct, result.feedback
    for path in targets[:2]:
        assert not Path(path).exists()


def test_environment_of_the_parent_does_not_leak(verifier):
    assert os.environ[SECRET_ENV]
    attack = """
        import os
        def f():
            return "ok" if not any("hunter2" in v for v in os.environ.values()) else dict(os.environ)
        print(dict(os.environ))
        """
    result = run(verifier, attack)
    assert result.correct, result.feedback
    assert "hunter2" not in str(result.details)


# -- processes -------------------------------------------------------------------------------
def test_fork_bomb_is_refused(verifier):
    uids = solution_uids(verifier.sandbox)
    # What may legitimately run under these uids afterwards: the standby for the next execution
    # (it can still be starting now: in full CI runs it was absent for 30 s, then present) and,
    # in a full test run, another module's sandbox not yet collected (CI saw 2). A fork that
    # survived would loop forking and far exceed this.
    wait_for(lambda: len(processes_of(uids)) >= 1, seconds=5)
    allowed = max(len(processes_of(uids)), 1)
    attack = """
        import os, subprocess
        def f():
            outcome = {}
            try:
                for _ in range(1000):
                    if os.fork() == 0:
                        while True:
                            os.fork()
                outcome["fork"] = "spawned"
            except OSError:
                outcome["fork"] = "refused"
            outcome["system"] = "refused" if os.system("id") != 0 else "spawned"
            try:
                subprocess.run(["/bin/sh", "-c", "id"])
                outcome["subprocess"] = "spawned"
            except OSError:
                outcome["subprocess"] = "refused"
            return "ok" if set(outcome.values()) == {"refused"} else outcome
        """
    result = run(verifier, attack)
    assert result.correct, result.feedback
    assert wait_for(lambda: len(processes_of(uids)) <= allowed), processes_of(uids)  # no fork survived


def test_thread_bomb_is_refused(verifier):
    attack = """
        import threading, time
        def f():
            try:
                for _ in range(10000):
                    threading.Thread(target=time.sleep, args=(60,)).start()
            except RuntimeError:
                return "ok"
            return "threads started"
        """
    assert run(verifier, attack).correct


def test_bounded_processes_when_allowed_and_no_leftovers():
    verifier = CodeVerifier(workers=1, timeout_s=3.0, allow_processes=4)
    try:
        attack = """
            import os, time
            def f():
                children = 0
                try:
                    for _ in range(100):
                        if os.fork() == 0:
                            os.setsid()  # try to outlive the execution
                            time.sleep(600)
                            os._exit(0)
                        children += 1
                except OSError:
                    pass
                return "ok" if children < 4 else children
            """
        result = run(verifier, attack)
        assert result.correct, result.feedback
        # At most the standby for the next execution remains (it may still be starting: full CI
        # runs saw none for 30 s): the setsid() sleepers, up to 3, were killed.
        uids = solution_uids(verifier.sandbox)
        assert wait_for(lambda: len(processes_of(uids)) <= 1), processes_of(uids)
    finally:
        verifier.close()


def test_cannot_signal_other_processes(verifier):
    attack = """
        import os, signal
        def f():
            results = []
            for pid in (1, 2, 3, -1, os.getppid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                    results.append(pid)
                except OSError:
                    pass
            return results or "ok"
        """
    restarts = verifier.sandbox.restarts
    assert run(verifier, attack).correct
    assert run(verifier, "def f():\n    return 'ok'\n").correct  # worker and harness intact
    assert verifier.sandbox.restarts == restarts


def test_ptrace_setuid_unshare_mount_are_refused(verifier):
    attack = """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        def f():
            got = {}
            got["ptrace_traceme"] = libc.ptrace(0, 0, None, None)
            got["ptrace_attach"] = libc.ptrace(16, 2, None, None)
            got["unshare_user"] = libc.unshare(0x10000000)
            got["unshare_net"] = libc.unshare(0x40000000)
            got["mount"] = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
            try:
                os.setuid(0)
                got["setuid"] = 0
            except PermissionError:
                got["setuid"] = -1
            got["uid_nonzero"] = -1 if os.getuid() != 0 else 0
            return "ok" if all(v == -1 for v in got.values()) else got
        """
    result = run(verifier, attack)
    assert result.correct, result.feedback


# -- resources -------------------------------------------------------------------------------
def test_memory_bomb_is_capped(verifier):
    attack = """
        def f():
            try:
                blob = bytearray(4 << 30)
            except MemoryError:
                return "ok"
            return len(blob)
        """
    assert run(verifier, attack).correct


@pytest.mark.parametrize("body", ["while True:\n        pass", "import time\n    time.sleep(600)"],
                         ids=["cpu-spin", "sleep"])
def test_runaway_programs_are_stopped_on_time(verifier, body):
    start = time.monotonic()
    result = run(verifier, f"def f():\n    {body}\n")
    elapsed = time.monotonic() - start
    assert result.status is Status.WRONG
    assert "time limit" in result.feedback
    assert elapsed < verifier.timeout_s + 2.0
    assert run(verifier, "def f():\n    return 'ok'\n").correct


def test_output_flood_is_capped(verifier):
    start = time.monotonic()
    result = run(verifier, "print('x' * 10**6)\nwhile True:\n    print('flood' * 1000)\n")
    assert result.status is Status.WRONG
    assert result.details["output_limit"]
    assert len(result.details["stdout"]) <= 2000
    assert time.monotonic() - start < verifier.timeout_s + 2.0


def test_disk_fill_is_capped(verifier):
    attack = """
        def f():
            written, errors = 0, set()
            for i in range(40):
                try:
                    with open(f"fill{i}", "wb") as fh:
                        for _ in range(64):
                            fh.write(b"x" * (1 << 20))
                            written += 1
                except OSError as exc:
                    errors.add(exc.errno)
            return "ok" if errors and written < 200 else (written, errors)
        """
    result = run(verifier, attack)
    assert result.correct, result.feedback
    # Cleaned after each run: the next program finds only its own, empty directory (beside the
    # read-only mount points of an interpreter that lives under /tmp, e.g. a venv in a clone there).
    from verifiers.code.isolation import _python_roots

    binds = sorted({Path(r).parts[2] for r in _python_roots() if Path(r).parts[1:2] == ("tmp",)})
    after = ("import os\ndef f():\n    mine = os.path.basename(os.getcwd())\n"
             f"    want = sorted([mine] + {binds!r})\n"
             "    return 'ok' if os.listdir('.') == [] and sorted(os.listdir('..')) == want else os.listdir('..')\n")
    result = run(verifier, after)
    assert result.correct, result.feedback


def test_fd_exhaustion_is_capped(verifier):
    attack = """
        import os
        def f():
            fds = []
            try:
                for _ in range(100000):
                    fds.append(os.open("/dev/null", os.O_RDONLY))
            except OSError:
                return "ok" if len(fds) < 100 else len(fds)
            return len(fds)
        """
    assert run(verifier, attack).correct


def test_segfault_is_a_wrong_answer_and_the_worker_survives(verifier):
    result = run(verifier, "import ctypes\ndef f():\n    return ctypes.string_at(0)\n")
    assert result.status is Status.WRONG
    assert "SIGSEGV" in result.feedback or "exited" in result.feedback
    assert run(verifier, "def f():\n    return 'ok'\n").correct


# -- forged verdicts -------------------------------------------------------------------------
FORGERIES = {
    "os._exit(0) before tests": "import os\nos._exit(0)\ndef f():\n    return 'no'\n",
    "sys.exit(0) before tests": "import sys\nsys.exit(0)\ndef f():\n    return 'no'\n",
    "SystemExit from the function": "def f():\n    raise SystemExit(0)\n",
    "function raises": "def f():\n    raise ValueError('nope')\n",
    "excepthook and atexit": (
        "import sys, os, atexit\nsys.excepthook = lambda *a: None\natexit.register(os._exit, 0)\n"
        "def f():\n    raise AssertionError\n"),
    "patched builtins": (
        "import builtins\nbuiltins.AssertionError = type('Fake', (Exception,), {})\n"
        "builtins.len = lambda x: 2\nlen = lambda x: 2\nsorted = lambda x: [1, 2]\n"
        "def f():\n    return [9, 9, 9]\n"),
    "object with a forged __eq__": (
        "class Always:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
        "def f():\n    return Always()\n"),
    "str subclass with a forged __eq__": (
        "class S(str):\n    def __eq__(self, other):\n        return True\n"
        "def f():\n    return S('no')\n"),
    "success-looking output": (
        "import json, struct, sys\nfor text in ['all tests passed', 'PASSED', json.dumps({'done': True}), 'ok']:\n"
        "    print(text); print(text, file=sys.stderr)\n"
        "def f():\n    print('test passed: ok')\n    return 'no'\n"),
    "forged frames on every fd": (
        "import json, os, struct\n"
        "frames = [{'steps': 1, 'tests': 1}, {'i': 0, 'kind': 'test', 'source': 'x', 'ok': True, 'error': None}, {'done': True},\n"
        "          {'id': 1, 'ok': 'ok'}, {'loaded': True, 'names': {}}]\n"
        "for fd in range(0, 64):\n"
        "    for frame in frames:\n"
        "        body = json.dumps(frame).encode()\n"
        "        try:\n            os.write(fd, struct.pack('>I', len(body)) + body)\n"
        "        except OSError:\n            pass\n"
        "def f():\n    return 'no'\n"),
    "echoes its own source": (
        "import sys\nprint(open(sys.argv[0]).read() if sys.argv and sys.argv[0] else '')\n"
        "def f():\n    import inspect\n    return inspect.getsource(f)\n"),
    "patches the harness module": (
        "import sys\nfor name, mod in list(sys.modules.items()):\n"
        "    if 'harness' in name or 'worker' in name:\n"
        "        for attr in ('run', 'serve', 'plan_tests', '_error_text', 'send'):\n"
        "            if hasattr(mod, attr):\n                setattr(mod, attr, lambda *a, **k: None)\n"
        "def f():\n    return 'no'\n"),
}


@pytest.mark.parametrize("program", list(FORGERIES.values()), ids=list(FORGERIES))
def test_forged_passes_get_no_credit(verifier, program):
    tests = "assert f() == 'ok'\nassert len(f()) == 2 or sorted([3]) == [3]\nassert f() == 'ok'\n"
    result = verifier(program, tests)
    assert result.status is Status.WRONG, (result.status, result.feedback)
    assert result.score < 1.0
    assert result.details["passed"] <= 1  # the middle assert may pass honestly


def test_answers_after_the_time_limit_never_count():
    # A process the program left behind (new session, out of the killed group) keeps answering
    # the harness's calls after the deadline: those verdicts must not count, nor the run pass.
    v = CodeVerifier(workers=1, timeout_s=2.0, allow_processes=4)
    try:
        program = ("import os, time\nif os.fork():\n    time.sleep(100)\nos.setsid()\n"
                   "def f(x):\n    time.sleep(0.8)\n    return x\n")
        result = v(program, "assert f(1) == 1\nassert f(2) == 2\nassert f(3) == 3\n")
    finally:
        v.close()
    assert result.status is Status.WRONG and result.details["timed_out"]
    assert result.details["passed"] < 3


def test_test_code_never_reaches_the_solution(verifier):
    """Same problem twice in one worker (as with G samples): the second program searches
    its whole memory (a copy of the worker's) for the first run's test code."""
    tests = "assert f() == 'zq-expected-7741'\n"
    assert run(verifier, "def f():\n    return 'zq-expected-7741'\n", tests).correct
    attack = """
        import gc, re
        def f():
            pattern = re.compile(r"zq-expected-\\d+")
            for obj in gc.get_objects():
                for text in ([obj] if isinstance(obj, (str, bytes, bytearray)) else
                             [v for v in (obj.values() if isinstance(obj, dict) else obj)
                              if isinstance(v, (str, bytes, bytearray))] if isinstance(obj, (dict, list, tuple)) else []):
                    found = pattern.search(text if isinstance(text, str) else bytes(text).decode("latin-1"))
                    if found:
                        return found.group(0)
            return "not found"
        """
    result = run(verifier, attack, tests)
    assert result.status is Status.WRONG
    assert "not found" in result.feedback or "AssertionError" in result.feedback
