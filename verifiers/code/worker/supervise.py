"""Watch one solution process: its output pipes, its exit, the wall-clock deadline.

The worker (not the child) owns the deadline, so a program that ignores signals, blocks
them, or sleeps still stops on time: SIGKILL to its process group cannot be refused.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import stat
import time


class Stream:
    """One pipe read by the worker, keeping at most ``cap`` bytes."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd, self.cap, self.data, self.overflow = fd, cap, bytearray(), False

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        self.data += chunk[:max(room, 0)]
        self.overflow |= len(chunk) > room

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def supervise(pid: int, streams: dict[str, Stream], deadline: float, grace_s: float,
              stdin: tuple[int, bytes] | None = None, stop_on_eof: str | None = None) -> dict:
    """Run until ``pid`` exited and every stream hit EOF, or the deadline passed.

    ``stop_on_eof``: the stream whose end means the verdict is complete (the harness's); the
    solution is then killed and, without waiting for it to die (process teardown is slow),
    the other streams are read for what is already there. The caller reaps it later (status
    ``None``). After any other kill the streams get ``grace_s`` more to drain. Returns the
    wait status, ``timed_out``, ``output_limit`` and ``harness_overran`` (the ``stop_on_eof``
    stream never ended).
    """
    sel = selectors.DefaultSelector()
    for name, stream in streams.items():
        os.set_blocking(stream.fd, False)
        sel.register(stream.fd, selectors.EVENT_READ, name)
    pidfd = os.pidfd_open(pid)
    sel.register(pidfd, selectors.EVENT_READ, "exit")
    pending = memoryview(b"")
    if stdin is not None:
        os.set_blocking(stdin[0], False)
        pending = memoryview(stdin[1])
        sel.register(stdin[0], selectors.EVENT_WRITE, "stdin")
    status: int | None = None
    open_streams = set(streams)
    timed_out = output_limit = killed = detached = False

    def kill() -> None:
        # After a kill the streams get ``grace_s`` more to drain, but never past the original
        # deadline: a verdict that arrives after the time limit must not count (a process the
        # program left behind could otherwise still answer the harness's calls).
        nonlocal killed, deadline
        if not killed:
            killed = True
            _killpg(pid)
            deadline = min(deadline, time.monotonic() + grace_s) if grace_s else time.monotonic() + 0.2

    while open_streams or status is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if killed:
                break
            timed_out = True
            kill()
            continue
        for key, _ in sel.select(remaining):
            tag = key.data
            if tag == "stdin":
                try:
                    pending = pending[os.write(stdin[0], pending[:65536]):]
                except BrokenPipeError:
                    pending = pending[:0]
                if not pending:
                    sel.unregister(stdin[0])
                    os.close(stdin[0])
                    stdin = None
            elif tag == "exit":
                sel.unregister(pidfd)
                status = os.waitpid(pid, 0)[1]
            else:
                chunk = os.read(key.fd, 65536)
                if chunk:
                    streams[tag].feed(chunk)
                    if streams[tag].overflow and tag != stop_on_eof:
                        output_limit = True
                        kill()
                    continue
                sel.unregister(key.fd)
                open_streams.discard(tag)
                if tag == stop_on_eof and not timed_out:
                    _killpg(pid)
                    for name in open_streams:
                        _drain(streams[name])
                    open_streams.clear()
                    detached = True
                    break
        if detached:
            break
    if status is None and not detached:
        _killpg(pid)
        status = os.waitpid(pid, 0)[1]
    sel.close()
    os.close(pidfd)
    if stdin is not None:
        os.close(stdin[0])
    for stream in streams.values():
        os.close(stream.fd)
    return {"status": status, "timed_out": timed_out, "output_limit": output_limit,
            "harness_overran": stop_on_eof in open_streams}


def _drain(stream: Stream) -> None:
    """Take what a non-blocking pipe holds right now."""
    while True:
        try:
            chunk = os.read(stream.fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            return
        stream.feed(chunk)


def parse_frames(data: bytearray) -> list:
    """Complete frames from a harness's verdict stream (a killed harness may leave a partial one)."""
    frames, offset = [], 0
    while offset + 4 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        if offset + 4 + size > len(data):
            break
        frames.append(json.loads(data[offset + 4:offset + 4 + size]))
        offset += 4 + size
    return frames


def remove_tree(path: str) -> None:
    """Delete an execution's directory even if the program chmod-ed parts of it to 000."""
    try:
        os.chmod(path, 0o700)
        entries = os.listdir(path)
    except FileNotFoundError:
        return
    for name in entries:
        child = os.path.join(path, name)
        if stat.S_ISDIR(os.lstat(child).st_mode):
            remove_tree(child)
        else:
            os.unlink(child)
    os.rmdir(path)
