"""Length-prefixed JSON frames over raw file descriptors.

Unbuffered on purpose: the worker must never read ahead of the frame it needs (the test code
that follows a request header must land only in the harness process, see :mod:`.main`).
"""

from __future__ import annotations

import json
import os
import struct

_HEADER = struct.Struct(">I")
MAX_FRAME = 64 << 20  # refuse larger frames: a hostile peer must not make us allocate GBs


class FrameError(RuntimeError):
    """The peer sent something that is not a well-formed frame."""


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, n: int) -> bytearray | None:
    """Read exactly ``n`` bytes; ``None`` on EOF before the first byte."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        chunk = os.readv(fd, [view[got:]])
        if chunk == 0:
            if got == 0:
                return None
            raise FrameError(f"peer closed the pipe mid-frame ({got}/{n} bytes)")
        got += chunk
    return buf


def recv_bytes(fd: int, limit: int = MAX_FRAME) -> bytearray | None:
    header = read_exact(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > limit:
        raise FrameError(f"frame of {size} bytes exceeds the {limit}-byte limit")
    if size == 0:
        return bytearray()
    body = read_exact(fd, size)
    if body is None:
        raise FrameError("peer closed the pipe after a frame header")
    return body


def encode_frame(obj: object) -> bytes:
    payload = json.dumps(obj, separators=(",", ":")).encode()
    return _HEADER.pack(len(payload)) + payload


def send(fd: int, obj: object) -> None:
    write_all(fd, encode_frame(obj))


def recv(fd: int, limit: int = MAX_FRAME) -> object | None:
    body = recv_bytes(fd, limit)
    if body is None:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FrameError(f"undecodable frame: {exc}") from exc
