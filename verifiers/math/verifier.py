"""``MathVerifier``: grade a completion's final answer against a reference answer."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from verifiers.base import Verification
from verifiers.math import choice, compare, evaluated, extract, guard, hedge
from verifiers.math.nodes import Node, Scalar, Ungradeable
from verifiers.math.normalize import normalize
from verifiers.math.parse import ParseError, parse_answer

# 2: exact by default (no tolerance unless asked), decimal references, units in \text{}
# 3: hedges are invalid, revisions count their last answer; equations compared as equations and
#    named values in conventional order; base subscripts; units compared; "no answer" meanings
# 4: a rational reference needs a value: an operation on numbers ("99 + 16" for 115) is wrong
VERSION = "4"
_MAX_EXTRACTED_CHARS = guard.MAX_ANSWER_CHARS + 1  # kept in traces; one past the limit still reads as too long


class MathVerifier:
    """Verify math answers with sympy.

    ``verify(completion, reference)`` extracts the final answer from ``completion`` (see
    :mod:`verifiers.math.extract`), parses both sides (:mod:`verifiers.math.parse`, built on
    ``latex2sympy2_extended``) and compares them (:mod:`verifiers.math.compare`).
    The reference is an answer (``"18"``, ``"\\frac{1}{2}"``, ``"(1, 2), (3, 4)"``), a GSM8K
    solution ending in ``#### 18``, or a solution containing ``\\boxed{}``. A single letter A-J
    reference (``B``, ``(B)``, ``\\textbf{(B)}``) means multiple choice: the letter the answer names
    is compared (:mod:`verifiers.math.choice`).

    Equivalence policy (details in :mod:`verifiers.math.compare` and :mod:`verifiers.math.numeric`):

    - An exact reference (integer, fraction, radical, pi, e, complex or symbolic expression)
      accepts only exactly equal answers, in any form: ``\\frac{1}{\\sqrt2}`` for
      ``\\frac{\\sqrt2}{2}``, ``e^{2\\pi i}`` for ``1``. There is no tolerance beyond the
      round-off of sympy's 50-digit evaluation, so ``0.667`` is wrong for ``\\frac23`` and ``1.41``
      for ``\\sqrt2``: a policy cannot farm reward with short decimals. Integers and rationals
      compare exactly at any size.
    - A rational reference needs the answer's value: an operation on numbers (``99 + 16`` or
      ``0 * 57``, the question restated) is wrong, though sympy would evaluate it to the
      reference (:mod:`verifiers.math.evaluated`: GRPO learns to restate in a dozen steps).
      One fraction (``\frac{6}{8}``) and scientific notation are values.
    - A decimal reference (``0.33``, ``2.50``, ``6.02 \\times 10^{23}``) is known to its last
      digit: an answer equal to it when rounded there is correct (``\\frac13`` or ``0.333`` for
      ``0.33``; ``0.3`` is not).
    - ``rel_tol`` / ``rounding`` turn on tolerant comparison, off by default.
    - A number with a unit or words counts as the number (``\\text{12 cm}``, ``7 dollars``) unless
      the words change it (``5 million``, ``at least 5``); when both sides carry units, they are
      compared (``5 km`` = ``5000 m`` != ``5 m``). Percent and degree signs are read both ways
      (``25\\%`` ~ ``0.25`` ~ ``25``).
    - Equations compare as equations (``y = x + 1`` = ``x - y + 1 = 0``; ``z = 4`` != ``w = 4``);
      named values against a tuple in the names' conventional order (x, y, z; a, b, c), ``invalid``
      when they have none. ``21_3`` is 7. ``\\emptyset``, ``no solution``, ``none`` are one answer;
      ``DNE``, ``does not exist``, ``undefined`` another.
    - A completion that offers several different final answers (``\\boxed{3}``, "but it could also
      be" ``\\boxed{9}``; "3 or 9") is ``invalid``; one that revises an earlier answer ("wait, that
      is wrong -- the answer is 9") is graded on its last answer (:mod:`verifiers.math.hedge`).

    Status: ``correct`` / ``wrong``; ``invalid`` when the reference cannot be parsed, no answer is
    found, the answer does not parse, it exceeds :mod:`verifiers.math.guard`'s limits, the
    completion offers several different final answers, or named values cannot be ordered.
    Feedback never reveals the reference (it is shown to the model in refinement turns).

    This object does *no* time limiting: run it through :class:`verifiers.runtime.VerifierRuntime`
    for a hard per-item deadline and memory cap. In-process calls are protected only by the
    static guards (length, nesting, power and factorial size).

    Args:
        extraction_priority: extraction methods in order (see :data:`extract.DEFAULT_PRIORITY`).
        box_policy: ``last`` / ``first`` / ``join`` / ``reject`` for several ``\\boxed{}``. With
            ``last`` (the default) and ``first``, different boxes are a hedge unless revised;
            ``join`` reads all boxes as one answer, ``reject`` refuses any two different boxes.
        rel_tol: opt-in relative tolerance ``|a - b| <= rel_tol * max(|a|, |b|)``, used unless the
            reference is an integer; 0 (the default) means exact. Before version 2 the default was
            1e-4: pass ``rel_tol=1e-4, rounding=True`` for the old grading.
        integer_tol: also apply ``rel_tol`` and ``rounding`` to integer references.
        rounding: opt-in: accept a decimal answer (>= 3 significant digits) that is the exact
            reference rounded at the answer's last digit (``85.71`` for ``600/7``). Off by default.
        max_completion_chars: longer completions are ``invalid`` without being read.
    """

    name = "math"
    version = VERSION

    def __init__(
        self,
        *,
        extraction_priority: Sequence[str] = extract.DEFAULT_PRIORITY,
        box_policy: extract.BoxPolicy = "last",
        rel_tol: float = 0.0,
        integer_tol: bool = False,
        rounding: bool = False,
        max_completion_chars: int = 1_000_000,
    ) -> None:
        unknown = set(extraction_priority) - set(extract.DEFAULT_PRIORITY)
        if unknown:
            raise ValueError(f"extraction_priority: unknown methods {sorted(unknown)}; "
                             f"choose from {list(extract.DEFAULT_PRIORITY)}")
        if box_policy not in ("last", "first", "join", "reject"):
            raise ValueError(f"box_policy must be last, first, join or reject, got {box_policy!r}")
        if rel_tol < 0:
            raise ValueError(f"rel_tol must be >= 0, got {rel_tol}")
        self.extraction_priority = tuple(extraction_priority)
        self.box_policy = box_policy
        self.tolerance = compare.Tolerance(rel_tol=rel_tol, integer_tol=integer_tol, rounding=rounding)
        self.max_completion_chars = max_completion_chars

    def __repr__(self) -> str:
        return (f"MathVerifier(extraction_priority={self.extraction_priority}, box_policy={self.box_policy!r}, "
                f"tolerance={self.tolerance}, max_completion_chars={self.max_completion_chars})")

    def __call__(self, completion: str, reference: Any, **fields: Any) -> Verification:
        if not isinstance(completion, str):
            return Verification.invalid(f"completion must be a string, got {type(completion).__name__}")
        if len(completion) > self.max_completion_chars:
            return Verification.invalid(f"completion has {len(completion)} characters "
                                        f"(limit {self.max_completion_chars})")
        ref_text = reference_answer(reference)
        letter = choice.reference_letter(ref_text)
        if letter:
            return self._multiple_choice(completion, letter)
        try:
            ref = parse_answer(ref_text)
        except (ParseError, guard.TooComplex) as exc:
            return Verification.invalid(f"reference cannot be graded: {exc}")
        hedges = self.box_policy in ("last", "first")  # "join" and "reject" decide about several boxes
        region = hedge.committed(completion) if hedges else completion
        try:
            candidates = extract.extract_answers(region, self.extraction_priority, self.box_policy)
        except extract.AmbiguousAnswer as exc:
            return Verification.invalid(str(exc))
        if not candidates:
            return Verification.invalid("no final answer found (write it as \\boxed{...})")
        problem = ""
        for cand in candidates:
            joined = hedge.joined_boxes(region, ref) if hedges and cand.method == "boxed" else None
            if joined:
                cand = dataclasses.replace(cand, text=joined)
            if len(cand.text) > _MAX_EXTRACTED_CHARS:
                cand = dataclasses.replace(cand, text=cand.text[:_MAX_EXTRACTED_CHARS])
            same_text = normalize(cand.text) == normalize(ref_text)
            try:
                node = parse_answer(cand.text)
            except guard.TooComplex as exc:
                return Verification.invalid(f"answer too complex to check: {exc}", cand.text)
            except ParseError as exc:
                if not same_text and cand.decisive:
                    return Verification.invalid(f"could not read the answer {cand.text[:200]!r}: {exc}", cand.text)
                if not same_text:
                    problem = str(exc)
                    continue
                node = None  # the reference's own text: correct without parsing, unless it hedges
            if hedges and not joined:
                committed = self._one_answer(region, cand, node, ref)
                if isinstance(committed, Verification):
                    return committed
                cand, node = committed
            return self._graded(ref, node, cand, same_text, fields.get("question"))
        return Verification.invalid(f"no readable final answer ({problem})", candidates[-1].text)

    def _one_answer(self, region: str, cand: extract.Extracted, node: Node | None,
                    ref: Node) -> tuple[extract.Extracted, Node | None] | Verification:
        """``invalid`` when the completion offers other answers besides ``cand``; for a reference
        with several values, values joined to ``cand`` by "or" are read with it ("$3$ or $9$")."""
        offered = hedge.offered(region, cand)
        alternatives = offered.or_joined + offered.others
        if offered.or_joined and node is not None and hedge.several_values(ref):
            text = ", ".join([*offered.or_joined, cand.text])
            try:
                cand, node, alternatives = dataclasses.replace(cand, text=text), parse_answer(text), offered.others
            except (ParseError, guard.TooComplex):
                pass
        several = hedge.conflict(node, cand.text, alternatives, ref, self.tolerance)
        if several:
            return Verification.invalid(f"the completion offers several different final answers "
                                        f"({several[:200]!r} besides {cand.text[:200]!r}); commit to one", cand.text)
        return cand, node

    def _graded(self, ref: Node, node: Node | None, cand: extract.Extracted, same_text: bool,
                question: str | None) -> Verification:
        if same_text or node is None:  # same text: nothing to compare
            return Verification.graded(True, cand.text, "correct", details={"method": cand.method})
        try:
            ok = compare.equivalent(ref, node, self.tolerance, question=question)
        except Ungradeable as exc:
            return Verification.invalid(f"cannot grade the answer {cand.text[:200]!r}: {exc}", cand.text)
        if ok and _restated(ref, node, cand.text):
            return Verification.graded(False, cand.text, f"the final answer {cand.text[:200]!r} is an expression, not "
                                       "its value: evaluate it", details={"method": cand.method, "unevaluated": True})
        feedback = "correct" if ok else f"the final answer {cand.text[:200]!r} is not correct"
        return Verification.graded(ok, cand.text, feedback, details={"method": cand.method})

    def _multiple_choice(self, completion: str, letter: str) -> Verification:
        hedges = self.box_policy in ("last", "first")
        region = hedge.committed(completion) if hedges else completion
        try:
            candidates = extract.extract_answers(region, self.extraction_priority, self.box_policy)
        except extract.AmbiguousAnswer as exc:
            return Verification.invalid(str(exc))
        for cand in candidates:
            found = choice.answer_letter(cand.text)
            boxed = {choice.answer_letter(b.text) for b in extract.mentions(region, "boxed")} - {None}
            if found == choice.AMBIGUOUS or (hedges and cand.method == "boxed" and len(boxed) > 1):
                return Verification.invalid(f"the answer {cand.text[:200]!r} names more than one choice", cand.text)
            if found:
                return self._graded_choice(found, letter, cand.method)
            if cand.decisive:
                return Verification.invalid("no answer choice (A-J) found in the final answer", cand.text)
        found = choice.in_prose(completion)
        if found:
            return self._graded_choice(found, letter, "prose")
        return Verification.invalid("no answer choice (A-J) found", candidates[0].text if candidates else None)

    @staticmethod
    def _graded_choice(found: str, letter: str, method: str) -> Verification:
        ok = found == letter
        return Verification.graded(ok, found, "correct" if ok else f"choice {found} is not correct",
                                   details={"method": method})


def _restated(ref: Node, node: Node, text: str) -> bool:
    """A rational reference answered by an operation on numbers (see :mod:`verifiers.math.evaluated`)."""
    return (isinstance(ref, Scalar) and isinstance(node, Scalar) and bool(ref.expr.is_Rational)
            and evaluated.unevaluated(normalize(text)))


def reference_answer(reference: Any) -> str:
    """The answer part of a reference: a number, a ``#### n`` solution, a ``\\boxed{}`` solution, or text."""
    if isinstance(reference, bool) or not isinstance(reference, (str, int, float)):
        return str(reference)
    text = str(reference).strip()
    boxes = extract.boxed_contents(text)
    if boxes:
        return boxes[-1]
    if "####" in text:
        return text.rsplit("####", 1)[1].strip()
    return text
