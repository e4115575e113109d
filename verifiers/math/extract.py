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
- ``no_answer``: the last statement that there is no answer ("so there is no solution", "the
  limit does not exist", "DNE"), when no number follows it.
- ``last_number``: the last number in the text (not one in a closing aside such as "(she had 10
  before)").

Marker methods (``boxed``, ``hash``, ``final_answer``, ``answer_is``) are decisive: the first
one that finds anything wins. The unmarked ones (``latex``, ``whole``, ``no_answer``, ``last_number``) are
*candidates*; the verifier takes the first candidate that parses. The final mention is used,
never the first: models restate intermediate results before concluding.

A mention right after a negation or a comparison (``8 marbles, not 10``; ``rather than
\\boxed{10}``; ``2 fewer than 10``; ``8 out of 10``) is not an answer: every method skips it. From
the sentence after "the answer is" a negated tail (``8, not 10`` -> ``8``), a remark after a dash
or ", because" / ", so" / ", which", and a parenthetical remark (``3 (or equivalently 3.0)``,
which :mod:`.hedge` reads as an alternative) are cut. :func:`mentions` lists every mention of a method,
with its position; :mod:`.hedge` uses them to find completions that offer several answers.

Limits: the sentence after "the answer is" ends at the first ". " / newline, so an answer that
itself contains ". " is cut short; ``$`` used as currency confuses the ``latex`` method, which
therefore skips spans that read like prose.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal, Sequence

BoxPolicy = Literal["last", "first", "join", "reject"]
DEFAULT_PRIORITY: tuple[str, ...] = (
    "boxed", "hash", "final_answer", "answer_is", "latex", "whole", "no_answer", "last_number",
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
    r"\d[0-9A-Za-z]*_\{?\d+\}?"  # 1101_2: a numeral with its base
    r"|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?"  # 1,234,567.89
    r"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*/\s*\d+)?%?"  # 12, 1.5, 1e6, 3/4, 50%
    r"|-?\.\d+%?"
)
_SENTENCE_END_RE = re.compile(r"\.(?:\s|$)|\n")
_LINE_END_RE = re.compile(r"\n")
# A number after a negation or a comparison is not the answer: "not 10", "fewer than 10", "out of 10".
_NEGATION_HINT_RE = re.compile("not|n't|never|than|instead|longer|out|compared")  # cheap test before _NEGATED_RE
_NEGATED_RE = re.compile(r"(?:\bnot|n't|\bnever|\bthan|\binstead\s+of|\bno\s+longer|\bout\s+of"
                         r"|\bcompared\s+(?:to|with))\s*[:(]?\s*(?:the\s+)?(?:\$\s*|\\\(\s*)?$")
# A closing aside in parentheses with words ("(she had 10 before)") holds no answer.
_ASIDE_RE = re.compile(r"\([^()]*[A-Za-z]{2,}[^()]*\)\s*[.!]?\s*$")
_NO_ANSWER_RE = re.compile(
    r"\bno\s+(?:real\s+|integer\s+|possible\s+|such\s+)?(?:solutions?|roots?)\b|\b(?:does\s+not|doesn't)\s+exist\b"
    r"|\bDNE\b|\bundefined\b|\bempty\s+set\b|\\(?:emptyset|varnothing)\b", re.IGNORECASE)
_NEGATED_TAIL_RE = re.compile(r"(?:\s*[,;]|\s*[\u2014\u2013]|\s+--|\s)\s*(?:and\s+|but\s+)?"
                              r"(?:not|rather\s+than|instead\s+of)\s+[^,;]*$"
                              r"|\s+(?:\u2014|\u2013|--)\s+.*$|,\s*(?:because|since|so|which|where|given)\s.*$",
                              re.IGNORECASE)
_FILLER_RE = re.compile(r"^(?:therefore|thus|so|then|hence|clearly|simply|just|exactly|now|indeed|still|again)\b,?\s*",
                        re.IGNORECASE)  # "the answer is therefore 3"
_REMARK_RE = re.compile(r"\s*\((?:or|i\.e\.|ie|that is|equivalently|which is|not)\b[^()]*\)\s*$"
                        r"|\s*,?\s*(?:or\s+)?(?:equivalently|i\.e\.|that is),?\s[^,;]*$", re.IGNORECASE)


class AmbiguousAnswer(ValueError):
    """Several different boxed answers under ``box_policy='reject'``."""


@dataclass(frozen=True)
class Extracted:
    """An answer found by ``method``; ``start``/``end`` locate its mention in the searched text."""

    text: str
    method: str
    start: int = 0
    end: int = 0

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
    return [box.text for box in _boxes(text)]


def _boxes(text: str) -> list[Extracted]:
    found: list[Extracted] = []
    pairs: dict[int, int] | None = None
    for m in _BOX_RE.finditer(text):
        if m.group(1):
            pairs = _brace_pairs(text) if pairs is None else pairs
            end = pairs.get(m.start(1))
            if end is not None:
                found.append(Extracted(text[m.start(1) + 1 : end].strip(), "boxed", m.start(), end + 1))
        else:  # "\\boxed 5": the next whitespace-free token
            token = _TOKEN_RE.match(text, m.end())
            if token:
                found.append(Extracted(token.group(0), "boxed", m.start(), token.end()))
    return found


def negated(text: str, start: int) -> bool:
    """The mention at ``start`` follows a negation: "not 10", "rather than $10$", "not \\(10\\)"."""
    window = text[max(0, start - 24) : start].lower()
    return bool(_NEGATION_HINT_RE.search(window)) and bool(_NEGATED_RE.search(window))


def without_remark(answer: str) -> str:
    """``8, not 10`` -> ``8``; ``3 (or equivalently 3.0)`` -> ``3``. A leading negation stays."""
    for pattern in (_REMARK_RE, _NEGATED_TAIL_RE):
        m = pattern.search(answer)
        if m and m.start() > 0 and answer[: m.start()].count("{") == answer[: m.start()].count("}"):
            answer = answer[: m.start()].rstrip(" ,;")
    return answer


def _statements(pattern: re.Pattern[str], text: str, method: str, *, to_sentence_end: bool) -> list[Extracted]:
    """What follows each match of ``pattern``, to the end of its sentence (or line)."""
    found = []
    for m in pattern.finditer(text):
        end = (_SENTENCE_END_RE if to_sentence_end else _LINE_END_RE).search(text, m.end())
        stop = end.start() if end else len(text)
        answer = without_remark(_FILLER_RE.sub("", text[m.end() : stop].strip()).rstrip(".").strip())
        if answer:
            found.append(Extracted(answer, method, m.start(), stop))
    return found


def _boxed(text: str, policy: BoxPolicy) -> Extracted | None:
    boxes = mentions(text, "boxed")
    if not boxes:
        return None
    if policy == "first":
        return boxes[0]
    if policy == "join":
        return Extracted(", ".join(b.text for b in boxes), "boxed", boxes[0].start, boxes[-1].end)
    if policy == "reject" and len({b.text for b in boxes}) > 1:
        raise AmbiguousAnswer(f"{len(boxes)} different boxed answers: {[b.text for b in boxes[:4]]}")
    return boxes[-1]


@functools.lru_cache(maxsize=16)
def mentions(text: str, method: str) -> tuple[Extracted, ...]:
    """Every answer ``method`` finds in ``text``, in order (negated mentions skipped).

    Cached: the verifier and :mod:`.hedge` ask for the same mentions of one completion.

    Raises:
        ValueError: an unknown method name.
    """
    return tuple(_mentions(text, method))


def _mentions(text: str, method: str) -> list[Extracted]:
    if method == "boxed":
        return [b for b in _boxes(text) if not negated(text, b.start)]
    if method == "hash":
        return _statements(_HASH_RE, text, method, to_sentence_end=False)
    if method == "final_answer":
        return _statements(_FINAL_RE, text, method, to_sentence_end=True)
    if method == "answer_is":
        return _statements(_ANSWER_IS_RE, text, method, to_sentence_end=True)
    if method == "latex":
        spans = [(next(i for i, g in enumerate(m.groups(), 1) if g is not None), m) for m in _LATEX_RE.finditer(text)]
        found = [Extracted(m.group(i).strip(), method, m.start(), m.end()) for i, m in spans]
        return [s for s in found if s.text and not _is_prose(s.text) and not negated(text, s.start)]
    if method == "whole":
        stripped = without_remark(text.strip())
        ok = 0 < len(stripped) <= WHOLE_MAX_CHARS and not _is_prose(stripped)
        return [Extracted(stripped, method, 0, len(text))] if ok else []
    if method == "last_number":
        aside = _ASIDE_RE.search(text)
        end = aside.start() if aside else len(text)
        return [Extracted(m.group(0), method, m.start(), m.end())
                for m in _NUMBER_RE.finditer(text, 0, end) if not negated(text, m.start())]
    if method == "no_answer":  # "so there is no solution.", "The limit does not exist."
        found = [Extracted(m.group(0), method, m.start(), m.end()) for m in _NO_ANSWER_RE.finditer(text)]
        last_number = mentions(text, "last_number")[-1:]
        return [f for f in found if not last_number or f.start > last_number[0].end]
    raise ValueError(f"unknown extraction method '{method}'; choose from {DEFAULT_PRIORITY}")


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
        found = _boxed(text, box_policy) if method == "boxed" else (mentions(text, method) or (None,))[-1]
        if found:
            if found.decisive and not candidates:
                return [found]
            candidates.append(found)
    return candidates
