"""Several final answers in one completion: a hedge is ungradeable, a revision is not.

A completion *hedges* when it offers different final values as alternatives, so that it would be
rewarded if any of them were right. The verifier then says ``invalid``, whichever comes last:

- several boxes with different values (or several "the answer is" / "final answer" / ``####``
  statements, when that is the marker graded);
- a hedge phrase after the first answer, with a value: "could also be 9", "might be 9", "would
  instead be 9", "alternatively, the answer is 9", "or possibly 9", "maybe 9", "otherwise 9", "in
  which case 9", "another possible answer is 9", "9 is also possible", "9 is another possibility";
- a value joined to the answer by "or": "3 or 9", "either 3 or 9", "\\boxed{3} (or 9)"; inside
  the answer itself (``\\boxed{3 \\text{ or } 9}``) when the reference is a single value.

Repeating one value is not a hedge: alternatives are parsed and compared with the answer, so
``\\boxed{3}`` ... ``\\boxed{3.0}`` or "3 (or equivalently 3.0)" stays gradeable.

A *revision* is not a hedge: an explicit correction after an answer -- "wait", "actually",
"correction:", "that is wrong", "I made a mistake", "let me recompute", "no," -- followed by a
new answer. The text before the last revision no longer counts (:func:`committed`), so the
answer after it is graded, as before. A hedge phrase between the revision and the new answer
makes it a hedge again ("wait, it could also be 9").

Where the reference has several values (a list, a set, a union of intervals), "or" joins the
parts of one answer, and boxes that each hold one value are read together as that answer
("\\boxed{3} or \\boxed{9}" for ``3, 9``); boxes that each hold a whole answer still hedge.

Limits: hedge phrases are read only after the first answer and only when a value follows them
directly ("alternatively, we can check that 3 \\times 3 = 9" is not a hedge); a value offered in
words ("nine") is not seen; revisions are recognised by their words, so a correction without
one ("\\boxed{3} ... so \\boxed{9}") is read as two answers.
"""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple

import sympy

from verifiers.math import extract, guard
from verifiers.math.compare import Tolerance, equivalent
from verifiers.math.nodes import Equation, Node, Scalar, Seq, SetNode, Text
from verifiers.math.normalize import normalize
from verifiers.math.parse import ParseError, parse_answer

_MAX_ALTERNATIVES = 8  # more distinct answers than this is a hedge without parsing them all
_VALUE = (r"(\$[^$]{1,120}\$|\\\(.{1,120}?\\\)|\\boxed\s*\{[^{}]{1,120}\}|\\[dt]?frac\s*\{[^{}]+\}\s*\{[^{}]+\}"
          r"|-?\d+(?:,\d{3})*(?:\.\d+)?(?:\s*/\s*\d+)?%?)")
_ALONE = r"(?=\s*(?:[.,;:!?)]|$|\s(?:if|as|since|when|though|too|instead|depending|but|or|and|because)\b))"
_ANSWER_WORDS = r"(?:the\s+(?:final\s+)?(?:answer|value|result|total)|it|this|that|[a-z])"
_HEDGE_RE = re.compile(
    rf"(?:(?:could|might|may|can|would)\s+(?:also\s+|alternatively\s+|possibly\s+|instead\s+|equally\s+|then\s+)?be"
    rf"|alternatively,?(?:\s+{_ANSWER_WORDS}\s+(?:is|=|could\s+be|might\s+be|would\s+be))?"
    rf"|or\s+(?:possibly|perhaps|maybe|else|alternatively|even)|\(\s*or|otherwise,?|in\s+which\s+case,?"
    rf"|(?:another|other|second|alternative)\s+(?:possible\s+|valid\s+|correct\s+)?"
    rf"(?:answer|value|solution|possibility|option|candidate)\s+(?:is|would\s+be|could\s+be|might\s+be|:)"
    rf"|\b(?:possibly|perhaps|maybe))\s*:?\s*(?:equal\s+to\s+)?{_VALUE}{_ALONE}", re.IGNORECASE)
# "3 is also possible", "3 also works", "3 is another possibility": the value comes before the hedge
_KINDS = r"(?:valid\s+|possible\s+|correct\s+)?(?:answer|solution|option|possibility|candidate)"
_ALSO_RE = re.compile(rf"{_VALUE}\s+(?:is\s+|would\s+be\s+)?(?:also\s+(?:possible|plausible|valid|correct|acceptable"
                      rf"|likely|works|an?\s+{_KINDS})|(?:another|an\s+alternative)\s+{_KINDS})\b", re.IGNORECASE)
_OR_BEFORE_RE = re.compile(rf"{_VALUE}\s*,?\s*or\s+(?:possibly\s+|perhaps\s+|maybe\s+|else\s+)?$", re.IGNORECASE)
_OR_AFTER_RE = re.compile(
    rf"^\s*[,.;]?\s*\(?\s*or\s+(?:possibly\s+|perhaps\s+|maybe\s+|else\s+|equivalently\s+|even\s+)?{_VALUE}",
    re.IGNORECASE)
_HEDGE_WORDS_RE = re.compile(r"\b(?:could|might|may)\s+(?:also\s+)?be\b|\b(?:alternatively|either|maybe|perhaps|possibly)\b",
                             re.IGNORECASE)
_REVISION_RE = re.compile(
    r"\b(?:wait|actually|hold\s+on|hmm+|oops|whoops|sorry|correction|corrected|correcting|mistakes?|mistaken"
    r"|miscalculat\w*|mis(?:read|took)|wrong|incorrect|erroneous|errors?|scratch\s+that|on\s+second\s+thought"
    r"|let\s+me\s+(?:re-?)?(?:check|verify|reconsider|recompute|recalculate|redo|fix|correct)"
    r"|double[- ]check\w*|re-?(?:check|calculat|comput|consider|examin|evaluat|think|do|vis|flect)\w*|reflection"
    r"|closer\s+(?:look|inspection)|i\s+mean|updated?|not\s+(?:right|correct|true|valid)"
    r"|(?:isn't|can't|cannot|can\s+not|doesn't|does\s+not)\s+(?:seem\s+|look\s+|be\s+)?(?:right|correct)"
    r"|nope|no(?=\s*[,.;:!]))", re.IGNORECASE)
_MARKERS = ("boxed", "hash", "final_answer", "answer_is")


def committed(completion: str) -> str:
    """The completion from its last revision of an earlier answer on (see the module docstring)."""
    events = sorted((m.start, m.end) for method in _MARKERS for m in extract.mentions(completion, method))
    if len(events) < 2:
        return completion
    starts = [start for start, _ in events]
    for revision in reversed(list(_REVISION_RE.finditer(completion, events[0][1], events[-1][0]))):
        following = starts[bisect.bisect_left(starts, revision.end())]
        if not _HEDGE_WORDS_RE.search(completion, revision.end(), following):
            return completion[revision.end():]
    return completion


class Offered(NamedTuple):
    """Values a completion offers besides its answer: joined to it by "or", and all others."""

    or_joined: list[str]
    others: list[str]


def offered(region: str, answer: extract.Extracted) -> Offered:
    """The other values ``region`` offers as final answers besides ``answer`` (raw text)."""
    found = [m for m in extract.mentions(region, answer.method)] if answer.decisive else []
    others = [m.text for m in found if m.text != answer.text]
    first = min([m.start for m in found] + [answer.start])
    others += [_unwrap(m.group(1)) for pattern in (_HEDGE_RE, _ALSO_RE) for m in pattern.finditer(region, first)]
    before = _OR_BEFORE_RE.search(region[max(0, answer.start - 160) : answer.start])
    after = _OR_AFTER_RE.search(region[answer.end : answer.end + 160])
    joined = [_unwrap(m.group(1)) for m in (before, after) if m]
    return Offered(*([o for o in dict.fromkeys(xs) if o and o != answer.text] for xs in (joined, others)))


def several_values(ref: Node) -> bool:
    """The reference holds several values: a list, a set, a union."""
    if isinstance(ref, Seq):
        return not ref.ordered and len(ref.items) > 1
    return isinstance(ref, SetNode) and isinstance(ref.value, (sympy.Union, sympy.FiniteSet)) \
        and len(ref.value.args) > 1


def conflict(answer: Node | None, answer_text: str, alternatives: list[str], ref: Node, tol: Tolerance) -> str | None:
    """The first alternative that is a different answer from ``answer``, or ``None``.

    ``answer`` is ``None`` when it did not parse (it is the reference's own text): alternatives
    are then compared as text.
    """
    if answer is not None and not several_values(ref) and _offers_several(answer, ref, tol):
        return answer_text
    if len(alternatives) > _MAX_ALTERNATIVES:
        return f"{len(alternatives)} different answers"
    for text in alternatives:
        if answer is None:
            if normalize(text) != normalize(answer_text):
                return text
            continue
        try:
            other = parse_answer(text)
        except (ParseError, guard.TooComplex):
            continue  # not a readable answer, so not one that could be rewarded
        if not _same(answer, other, tol):
            return text
    return None


def _same(answer: Node, other: Node, tol: Tolerance) -> bool:
    """Equal either way round; a checked equation ("3 \\times 3 = 9") agrees with its right side."""
    if equivalent(answer, other, tol) or equivalent(other, answer, tol):
        return True
    return isinstance(other, Equation) and not other.assignment and equivalent(answer, other.rhs, tol)


def joined_boxes(region: str, ref: Node) -> str | None:
    """For a reference with several values, boxes that each hold one value, read as one answer."""
    boxes = [b.text for b in extract.mentions(region, "boxed")]
    if not several_values(ref) or len(set(boxes)) < 2 or len(boxes) > _MAX_ALTERNATIVES:
        return None
    try:
        singles = all(not isinstance(parse_answer(b), Seq) for b in boxes)
    except (ParseError, guard.TooComplex):
        return None
    return ", ".join(boxes) if singles else None


def _offers_several(answer: Node, ref: Node, tol: Tolerance) -> bool:
    """``3 or 9`` (a bare list of different values) against a reference that is one value."""
    single = isinstance(ref, (Scalar, Text)) or (isinstance(ref, Equation) and not isinstance(ref.rhs, Seq))
    if not single or not isinstance(answer, Seq) or answer.ordered or answer.brackets or len(answer.items) < 2:
        return False
    first = answer.items[0]
    return any(not equivalent(first, item, tol) for item in answer.items[1:])


def _unwrap(value: str) -> str:
    value = value.strip()
    if value.startswith("$") or value.startswith("\\("):
        return value.strip("$").removeprefix("\\(").removesuffix("\\)").strip()
    if value.startswith("\\boxed"):
        return value[value.index("{") + 1 : -1].strip()
    return value
