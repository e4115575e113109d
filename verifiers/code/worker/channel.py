"""The harness's side of the calls into the solution process.

Every call is a frame ``{"id", "call", "args", "kwargs"}`` answered by ``{"id", "ok"}`` or
``{"id", "raise": [type, message]}``. A round trip costs two context switches, which on a
busy machine can each cost a scheduler slice; so calls whose arguments are literals in the
test code are *prefetched*: sent as one batch when a run of tests starts, answered one by
one, and consumed when the test makes that same call. The solution sees nothing earlier
than it would anyway except those literal arguments (never the expected values), and a
prefetched call it did not need is a harmless extra call.
"""

from __future__ import annotations

import builtins
import collections
import json
import select

from . import codec, wire

MAX_REPLY = 16 << 20


class SolutionError(Exception):
    """The solution raised an exception that is not a built-in one (name and message kept)."""


class SolutionGone(Exception):
    """The solution process exited or broke the protocol; no further calls can succeed."""


def _rebuild_exception(name: str, message: str) -> Exception:
    # Built-in exception types are recreated so `except ValueError` in tests behaves as usual;
    # BaseException-only types (SystemExit, ...) are not: the tests must never be stopped by them.
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except TypeError:  # e.g. UnicodeDecodeError needs 5 arguments
            pass
    return SolutionError(f"{name}: {message}")


def _key(name: str, args: object, kwargs: object) -> str:
    return json.dumps([name, args, kwargs], separators=(",", ":"))


class Channel:
    """``before_wait`` runs whenever the next reply is not there yet, just before blocking on
    it: the harness flushes its pending verdicts then, so they are out before a solution that
    hangs runs into the time limit."""

    def __init__(self, calls: int, replies: int, before_wait=None) -> None:
        self.calls, self.replies = calls, replies
        self.before_wait = before_wait
        self.next_id = 0
        self.gone: str | None = None
        self.outstanding: set[int] = set()  # sent, reply not read yet
        self.received: dict[int, dict] = {}  # read, not consumed yet
        self.prefetched: dict[str, collections.deque[int]] = collections.defaultdict(collections.deque)

    def _fail(self, reason: str) -> SolutionGone:
        self.gone = reason
        return SolutionGone(reason)

    def _send(self, frame: dict) -> None:
        try:
            wire.send(self.calls, frame)
        except BrokenPipeError:
            raise self._fail("the solution process exited during the tests") from None

    def _read_one(self) -> None:
        if self.before_wait is not None and not select.select([self.replies], [], [], 0)[0]:
            self.before_wait()
        try:
            reply = wire.recv(self.replies, MAX_REPLY)
        except wire.FrameError as exc:
            raise self._fail(f"the solution process broke the protocol ({exc})") from None
        if reply is None:
            raise self._fail("the solution process exited during the tests")
        if not isinstance(reply, dict) or reply.get("id") not in self.outstanding:
            raise self._fail("the solution process sent a malformed reply")
        self.outstanding.discard(reply["id"])
        self.received[reply["id"]] = reply

    def _await(self, call_id: int) -> dict:
        while call_id not in self.received:
            self._read_one()
        return self.received.pop(call_id)

    def _frame(self, name: str, args: object, kwargs: object) -> dict:
        self.next_id += 1
        self.outstanding.add(self.next_id)
        return {"id": self.next_id, "call": name, "args": args, "kwargs": kwargs}

    def prefetch(self, calls: list[tuple[str, object, object]]) -> None:
        """Send ``(name, args, kwargs)`` calls, arguments already :func:`codec.encode`-d, as
        one batch; :meth:`call` later takes their replies."""
        if self.gone or not calls:
            return
        batch = []
        for name, args, kwargs in calls:
            frame = self._frame(name, args, kwargs)
            self.prefetched[_key(name, frame["args"], frame["kwargs"])].append(frame["id"])
            batch.append(frame)
        self._send({"batch": batch})

    def call(self, name: str, args: tuple, kwargs: dict):
        if self.gone:
            raise SolutionGone(self.gone)
        encoded_args, encoded_kwargs = codec.encode(args), codec.encode(kwargs)
        ready = self.prefetched.get(_key(name, encoded_args, encoded_kwargs))
        if ready:
            reply = self._await(ready.popleft())
        else:
            # Read every outstanding prefetched reply first: then neither side can block on
            # a full pipe while the other waits for it.
            while self.outstanding:
                self._read_one()
            frame = self._frame(name, encoded_args, encoded_kwargs)
            self._send(frame)
            reply = self._await(frame["id"])
        if "raise" in reply:
            exc_name, message = reply["raise"]
            raise _rebuild_exception(str(exc_name), str(message))
        return codec.decode(reply["ok"])


class Proxy:
    """Stands for one function of the solution inside the tests."""

    def __init__(self, channel: Channel, name: str) -> None:
        self._channel, self.__name__ = channel, name

    def __call__(self, *args, **kwargs):
        return self._channel.call(self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<solution function {self.__name__}>"
