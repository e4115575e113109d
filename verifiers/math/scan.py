"""Bracket-aware scanning of LaTeX text: split at top-level separators, match brackets.

``\\{`` / ``\\}`` count as brackets, other ``\\commands`` are skipped whole, so ``\\left(`` style
sizing (already removed by :mod:`.normalize`) and command names never split a string.
"""

from __future__ import annotations

import re
from typing import Iterator, Sequence

_OPEN = {"(": ")", "[": "]", "{": "}", r"\{": r"\}"}
_CLOSE = {")", "]", "}", r"\}"}
_COMMAND_RE = re.compile(r"\\[a-zA-Z]+")


def tokens_with_depth(s: str) -> Iterator[tuple[int, str, int]]:
    """Yield ``(index, token, depth_before)``; tokens are single chars, ``\\{``, ``\\}`` or ``\\cmd``."""
    depth = 0
    i = 0
    while i < len(s):
        if s.startswith((r"\{", r"\}"), i):
            tok = s[i : i + 2]
        elif s[i] == "\\":
            m = _COMMAND_RE.match(s, i)
            tok = m.group(0) if m else s[i : i + 2]
        else:
            tok = s[i]
        yield i, tok, depth
        if tok in _OPEN:
            depth += 1
        elif tok in _CLOSE:
            depth = max(0, depth - 1)
        i += len(tok)


def split_top(s: str, separators: Sequence[str]) -> list[str]:
    """Split ``s`` at separators that occur outside every bracket (longest separator first)."""
    return split_top_keep(s, separators)[0]


def _whole_command(s: str, i: int, sep: str) -> bool:
    """``\\in`` must not match the start of ``\\infty``."""
    if not re.fullmatch(r"\\[a-zA-Z]+", sep):
        return True
    end = i + len(sep)
    return end >= len(s) or not s[end].isalpha()


def closing_index(s: str, open_idx: int = 0) -> int | None:
    """Index of the bracket that closes the one at ``open_idx`` (any bracket kind closes)."""
    for i, tok, depth in tokens_with_depth(s):
        if i <= open_idx:
            continue
        if tok in _CLOSE and depth == 1:
            return i
    return None


def wrapped(s: str) -> tuple[str, str, str] | None:
    """``(open, inner, close)`` when one bracket pair encloses all of ``s``."""
    opener = r"\{" if s.startswith(r"\{") else s[:1]
    if opener not in ("(", "[", r"\{", "{"):
        return None
    close = closing_index(s, 0)
    if close is None:
        return None
    closer = s[close : close + 2] if s.startswith(r"\}", close) else s[close]
    if close + len(closer) != len(s):
        return None
    return opener, s[len(opener) : close], closer


def split_top_keep(s: str, separators: Sequence[str]) -> tuple[list[str], list[str]]:
    """Like :func:`split_top` but also return which separator stood between the parts."""
    seps = sorted(separators, key=len, reverse=True)
    parts: list[str] = []
    found: list[str] = []
    start = skip_until = 0
    for i, _tok, depth in tokens_with_depth(s):
        if i < skip_until or depth:
            continue
        for sep in seps:
            if s.startswith(sep, i) and _whole_command(s, i, sep):
                parts.append(s[start:i])
                found.append(sep)
                start = skip_until = i + len(sep)
                break
    parts.append(s[start:])
    return [p.strip() for p in parts], found
