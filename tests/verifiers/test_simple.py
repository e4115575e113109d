"""ExactMatchVerifier and BoxedFormatVerifier, also through the registry names."""

from __future__ import annotations

from verifiers.base import Status
from verifiers.registry import build_verifier
from verifiers.simple import BoxedFormatVerifier, ExactMatchVerifier


def test_exact_match_strips_whitespace() -> None:
    v = ExactMatchVerifier()
    assert v("  hello\n", "hello").correct
    assert v("Hello", "hello").status is Status.WRONG
    assert ExactMatchVerifier(case_sensitive=False)("Hello", "hello").correct


def test_exact_match_without_reference_is_invalid() -> None:
    assert ExactMatchVerifier()("x", None).status is Status.INVALID


def test_boxed_format() -> None:
    v = BoxedFormatVerifier()
    assert v("so \\boxed{\\frac{1}{2}}", None).score == 1.0
    assert v("so \\boxed{}", None).status is Status.WRONG
    assert v("the answer is 4", "4").score == 0.0


def test_registry_names() -> None:
    assert build_verifier("exact")("a", "a").correct
    assert build_verifier("format")("\\boxed{1}", None).correct
    assert build_verifier("math", rel_tol=0.0).tolerance.rel_tol == 0.0
