"""Find the final answer in a model completion.

Methods, tried in the order given by ``priority`` (default :data:`DEFAULT_PRIORITY`):

- ``boxed``: ``\\boxed{...}`` / ``\\fbox{...}`` with nested braces (also ``\\boxed 5``);
  when there are several, ``box_policy`` decides: ``last`` (default), ``first``,
  ``join`` (all boxes form one comma-separated answer) or ``reject`` (several different
  boxes make the completion ungradeable).
- ``hash``: the text after the last ``####`` (GSM8K style), up to the end of its line.
- ``final_answer``: after the last "final answer is" / "final answer:".
- ``answer_is``: after the last "the answer is" / "answer:".
- ``latex``: the last ``$...$``, ``\\(...\\)`` or ``\\[...\\]`` span.
- ``whole``: the whole completion, when it is short (a bare answer such as ``(1, 2), (3, 4)``).
- ``last_number``: the last number in the text.

Marker methods (``boxed``, ``hash``, ``final_answer``, ``answer_is``) are decisive: the first
one that finds anything wins. The unmarked ones (``latex``, ``whole``, ``last_number``) are
*candidates*; the verifier takes the first candidate that parses. The final mention is used,
never the first: models restate intermediate results before concluding.

Limits: the sentence after "the answer is" ends at the first ". " / newline, so an answer that
itself contains ". " is cut short; ``$`` used as currency confuses the ``latex`` method, which
therefore skips spans that read like prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Sequence

BoxPolicy = Literal["last", "first", "join", "reject"]
DEFAULT_PRIORITY: tuple[str, ...] = (
    "boxed", "hash", "final_answer", "answer_is", "latex", "whole", "last_number",
)
MARKER_METHODS = frozenset({"boxed", "hash", "final_answer", "answer_is"})
WHOLE_MAX_CHARS = 300

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*(\{)?")
_TOKEN_RE = re.compile(r"[^\s$]+")
_HASH_RE = re.compile(r"####")
_FINAL_RE = re.compile(r"final\s+answer\s*(?:is\s*:?|:|=)", re.IGNORECASE)
_ANSWER_IS_RE = re.compile(r"\banswer\s*(?:is\s*:?|:|=)", re.IGNORECASE)
_LATEX_RE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_PROSE_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,} +[A-Za-z]{2,}\b")
_TEXT_SPAN_RE = re.compile(r"\\(?:text|mbox|mathrm)\s*\{[^{}]*\}")
_NUMBER_RE = re.compile(
    r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?"  # 1,234,567.89
    r"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*/\s*\d+)?%?"  # 12, 1.5, 1e6, 3/4, 50%
    r"|-?\.\d+%?"
)
_SENTENCE_END_RE = re.compile(r"\.(?:\s|$)|\n")


class AmbiguousAnswer(ValueError):
    """Several different boxed answers under ``box_policy='reject'``."""


@dataclass(frozen=True)
class Extracted:
    text: str
    method: str

    @property
    def decisive(self) -> bool:
        return self.method in MARKER_METHODS


def _brace_pairs(text: str) -> dict[int, int]:
    """``{`` index -> matching ``}`` index, in one pass (escaped braces skipped).

    One pass matters: scanning forward from every ``\\boxed{`` separately is quadratic on
    hostile input such as 100,000 unclosed boxes.
    """
    pairs: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i
        i += 1
    return pairs


def boxed_contents(text: str) -> list[str]:
    """Every ``\\boxed{...}`` / ``\\fbox{...}`` body in order (unclosed boxes are skipped)."""
    found: list[str] = []
    pairs: dict[int, int] | None = None
    for m in _BOX_RE.finditer(text):
        if m.group(1):
            pairs = _brace_pairs(text) if pairs is None else pairs
            end = pairs.get(m.start(1))
            if end is not None:
                found.append(text[m.start(1) + 1 : end].strip())
        else:  # "\\boxed 5": the next whitespace-free token
            token = _TOKEN_RE.match(text, m.end())
            if token:
                found.append(token.group(0))
    return found


def _after_last(pattern: re.Pattern[str], text: str, *, to_sentence_end: bool) -> str | None:
    last = None
    for last in pattern.finditer(text):
        pass
    if last is None:
        return None
    rest = text[last.end():]
    end = (_SENTENCE_END_RE.search(rest) if to_sentence_end else re.search(r"\n", rest))
    answer = rest[: end.start()] if end else rest
    answer = answer.strip().rstrip(".").strip()
    return answer or None


def _boxed(text: str, policy: BoxPolicy) -> str | None:
    boxes = boxed_contents(text)
    if not boxes:
        return None
    if policy == "first":
        return boxes[0]
    if policy == "join":
        return ", ".join(boxes)
    if policy == "reject" and len(set(boxes)) > 1:
        raise AmbiguousAnswer(f"{len(boxes)} different boxed answers: {boxes[:4]}")
    return boxes[-1]


def _latex_spans(text: str) -> list[str]:
    spans = [next(g for g in m.groups() if g is not None).strip() for m in _LATEX_RE.finditer(text)]
    return [s for s in spans if s and not _is_prose(s)]


def _is_prose(s: str) -> bool:
    """Two plain words in a row outside ``\\text{}``: a sentence, not an answer."""
    return bool(_PROSE_RE.search(_TEXT_SPAN_RE.sub(" ", s)))


def extract_answers(
    text: str, priority: Sequence[str] = DEFAULT_PRIORITY, box_policy: BoxPolicy = "last"
) -> list[Extracted]:
    """Candidate answers in priority order; a decisive candidate, if any, comes alone.

    Raises:
        AmbiguousAnswer: ``box_policy='reject'`` and the boxes disagree.
        ValueError: an unknown method name in ``priority``.
    """
    candidates: list[Extracted] = []
    for method in priority:
        if method == "boxed":
            found = [_boxed(text, box_policy)]
        elif method == "hash":
            found = [_after_last(_HASH_RE, text, to_sentence_end=False)]
        elif method == "final_answer":
            found = [_after_last(_FINAL_RE, text, to_sentence_end=True)]
        elif method == "answer_is":
            found = [_after_last(_ANSWER_IS_RE, text, to_sentence_end=True)]
        elif method == "latex":
            found = _latex_spans(text)[-1:]
        elif method == "whole":
            stripped = text.strip()
            found = [stripped if 0 < len(stripped) <= WHOLE_MAX_CHARS and not _is_prose(stripped) else None]
        elif method == "last_number":
            found = [m.group(0) for m in _NUMBER_RE.finditer(text)][-1:]
        else:
            raise ValueError(f"unknown extraction method '{method}'; choose from {DEFAULT_PRIORITY}")
        for answer in found:
            if answer:
                candidate = Extracted(answer, method)
                if candidate.decisive and not candidates:
                    return [candidate]
                candidates.append(candidate)
    return candidates
