"""The untrusted side: run the program, then answer the harness's calls into it.

Everything here runs after :func:`.confine.confine` and shares a process with the program, so
none of it is trusted: a program may rewrite this module, lie in its replies or exit at any
point. That is fine by design. The harness only ever receives plain data (:mod:`.codec`) in
reply to calls it made, which is exactly what a function returning values can do anyway.
"""

from __future__ import annotations

import builtins
import sys
import traceback
import types

from . import codec, wire

# fds the worker sets up: calls from the harness, replies to it, and the worker's control
# pipe that delivers the program (the process is forked and confined before it is known).
RPC_IN, RPC_OUT, CONTROL = 3, 4, 5


def _short_error(exc: BaseException, limit: int = 2000) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None))
    return text[-limit:]


def _exported_names(ns: dict) -> dict:
    """What the program defined, as the harness will see it: callables by name, data by value."""
    names = {}
    for key, value in ns.items():
        if key.startswith("__") or isinstance(value, types.ModuleType):
            continue
        if callable(value):
            names[key] = ["callable", None]
            continue
        try:
            names[key] = ["value", codec.encode(value)]
        except (codec.UnsupportedValue, RecursionError):
            pass  # not reachable from the tests: they only see plain data
    return names


def _reply(call_id: int, fn, args, kwargs) -> dict:
    try:
        result = fn(*codec.decode(args), **dict(codec.decode(kwargs)))
    except BaseException as exc:  # noqa: BLE001 - reported to the harness as the call's outcome
        return {"id": call_id, "raise": [type(exc).__name__, str(exc)[:2000]]}
    try:
        return {"id": call_id, "ok": codec.encode(result)}
    except (codec.UnsupportedValue, RecursionError) as exc:
        return {"id": call_id, "raise": ["TypeError", f"returned an unsupported value: {exc}"]}


def run_tests_side(program: str) -> int:
    """Test mode: load the program, report its names, then serve calls until the harness hangs up."""
    ns = {"__name__": "__solution__", "__builtins__": builtins}
    try:
        exec(compile(program, "<solution>", "exec"), ns)
    except BaseException as exc:  # noqa: BLE001 - SystemExit included: the program did not load
        wire.send(RPC_OUT, {"loaded": False, "error": _short_error(exc)})
        return 1
    wire.send(RPC_OUT, {"loaded": True, "names": _exported_names(ns)})
    while True:
        request = wire.recv(RPC_IN)
        if request is None:
            return 0
        # A batch (calls the harness prefetches) is answered one reply at a time, in order,
        # so a call that hangs still leaves the earlier replies usable.
        for call in request["batch"] if "batch" in request else [request]:
            fn = ns.get(call["call"])
            if not callable(fn):
                reply = {"id": call["id"], "raise": ["NameError", f"name {call['call']!r} is not callable"]}
            else:
                reply = _reply(call["id"], fn, call["args"], call["kwargs"])
            sys.stdout.flush()  # so prints made during the call reach the feedback
            wire.send(RPC_OUT, reply)


def run_standby() -> int:
    """Wait, already confined, for the program; then run it in the mode asked."""
    request = wire.recv(CONTROL)
    if request is None:
        return 0  # discarded unused
    if request["mode"] == "tests":
        return run_tests_side(request["program"])
    return run_script(request["program"])


def run_script(program: str) -> int:
    """Stdio mode: run the program as ``__main__`` with the worker's stdin/stdout."""
    ns = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(program, "<solution>", "exec"), ns)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        print(code, file=sys.stderr)
        return 1
    except BaseException as exc:  # noqa: BLE001 - reported on stderr like the interpreter would
        sys.stderr.write(_short_error(exc))
        return 1
    return 0
