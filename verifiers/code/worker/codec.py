"""Plain-data encoding for values crossing between the solution and the harness.

Only exact built-in value types cross: ``None``, ``bool``, ``int``, ``float``, ``complex``,
``str``, ``bytes``, and ``list`` / ``tuple`` / ``dict`` / ``set`` / ``frozenset`` of them.
Anything else (a subclass with a forged ``__eq__``, a generator, a lambda) is refused, so the
harness compares real values it decoded itself and never runs an object the solution built.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 200


class UnsupportedValue(TypeError):
    """The value is not plain data and cannot cross the process boundary."""


def encode(value: Any, _depth: int = 0) -> Any:
    if _depth > MAX_DEPTH:
        raise UnsupportedValue(f"value nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    d = _depth + 1
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return {"i": str(value)} if abs(value) >= 1 << 53 else value
    if kind is float:
        return {"f": repr(value)}
    if kind is complex:
        return {"c": [repr(value.real), repr(value.imag)]}
    if kind is bytes:
        return {"b": value.hex()}
    if kind is list:
        return {"l": [encode(v, d) for v in value]}
    if kind is tuple:
        return {"t": [encode(v, d) for v in value]}
    if kind is set:
        return {"s": [encode(v, d) for v in value]}
    if kind is frozenset:
        return {"fs": [encode(v, d) for v in value]}
    if kind is dict:
        return {"d": [[encode(k, d), encode(v, d)] for k, v in value.items()]}
    raise UnsupportedValue(f"cannot pass a value of type {kind.__name__!r} (only plain data)")


def decode(data: Any, _depth: int = 0) -> Any:
    if _depth > MAX_DEPTH:
        raise UnsupportedValue(f"value nested deeper than {MAX_DEPTH} levels")
    kind = type(data)
    d = _depth + 1
    if data is None or kind in (bool, int, str):
        return data
    if kind is not dict or len(data) != 1:
        raise UnsupportedValue(f"malformed encoded value of type {kind.__name__}")
    ((tag, body),) = data.items()
    if tag == "i":
        return int(body)
    if tag == "f":
        return float(body)
    if tag == "c":
        return complex(float(body[0]), float(body[1]))
    if tag == "b":
        return bytes.fromhex(body)
    if tag == "l":
        return [decode(v, d) for v in body]
    if tag == "t":
        return tuple(decode(v, d) for v in body)
    if tag == "s":
        return {decode(v, d) for v in body}
    if tag == "fs":
        return frozenset(decode(v, d) for v in body)
    if tag == "d":
        return {decode(k, d): decode(v, d) for k, v in body}
    raise UnsupportedValue(f"unknown value tag {tag!r}")
