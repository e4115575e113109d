"""Find the program in a model completion.

Rules, in order: the last fenced block (```python, ```py or a bare ```) that defines
``entry_point`` when one is given, else the last such block; an unterminated opening fence
takes the rest of the text; with no fence at all the whole completion is the program.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)
_PYTHON_TAGS = {"", "python", "py", "python3"}


def extract_code(completion: str, entry_point: str | None = None) -> str | None:
    """Return the program text, or ``None`` when the completion holds no code at all."""
    blocks = [body for tag, body in _FENCE.findall(completion) if tag.lower() in _PYTHON_TAGS]
    if blocks:
        if entry_point:
            defining = [b for b in blocks if re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", b)]
            if defining:
                return defining[-1]
        return blocks[-1]
    fences = [m.start() for m in re.finditer(r"```", completion)]
    if len(fences) % 2 == 1:  # the last fence opens a block the model never closed
        opening = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n").match(completion, fences[-1])
        if opening:
            return completion[opening.end():] or None
    return completion if completion.strip() else None
