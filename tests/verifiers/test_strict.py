"""``strict``: the requested \\boxed{} format is part of the verdict."""

import pytest

from verifiers.base import Status
from verifiers.registry import available, build_verifier
from verifiers.runtime import VerifierRuntime, VerifyItem


@pytest.mark.parametrize("completion, status", [
    ("5 + 8 = 13, so \\boxed{13}", Status.CORRECT),
    ("\\boxed{14}", Status.WRONG),
    ("5 + 8 = 13. The answer is 13.", Status.INVALID),  # right, but not in the requested format
    ("13", Status.INVALID),
    ("so \\boxed{} and 13", Status.INVALID),  # an empty box is no answer
    ("\\boxed{12} no wait \\boxed{13}", Status.CORRECT),  # the last box, as the math verifier reads it
])
def test_strict_requires_a_box_and_grades_it(completion, status):
    strict, lenient = build_verifier("strict"), build_verifier("math")
    got = strict(completion, "13")
    assert got.status is status
    if status is not Status.INVALID:
        assert got == lenient(completion, "13")  # with a box, the inner verifier's verdict unchanged
    else:
        assert got.score == 0.0 and "boxed" in got.feedback


def test_options_reach_the_inner_verifier_and_identity_names_it():
    strict = build_verifier("strict", inner="math", rel_tol=0.01)
    assert strict("\\boxed{3.14}", "\\pi").correct
    assert not build_verifier("strict")("\\boxed{3.14}", "\\pi").correct
    assert strict.version.startswith("1+math@")
    assert "strict" in available()
    with pytest.raises(ValueError, match="inner"):
        build_verifier("strict", inner="strict")
    with pytest.raises(TypeError, match="bad options"):
        build_verifier("strict", no_such_option=1)


def test_strict_through_the_runtime():
    items = [VerifyItem("\\boxed{13}", "13"), VerifyItem("the answer is 13", "13")]
    with VerifierRuntime("strict", {}, workers=1) as runtime:
        got = runtime.verify_batch(items)
    assert [v.status for v in got] == [Status.CORRECT, Status.INVALID]
    assert runtime.identity.startswith("strict@1+math@")
