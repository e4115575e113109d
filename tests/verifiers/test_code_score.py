"""The code verifier's ``score`` option (the GRPO reward): fraction of tests passed, or all-pass."""

from __future__ import annotations

import pytest

from verifiers.base import Status
from verifiers.code import CodeVerifier
from verifiers.registry import build_verifier, verifier_identity
from verifiers.runtime import VerifierRuntime, VerifyItem
from verifiers.trl_reward import reward_function

TESTS = "assert add(2, 2) == 4\nassert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(3, 3) == 6\n"
RIGHT = "def add(a, b):\n    return a + b\n"
HALF = "def add(a, b):\n    return a * b\n"  # passes 2 of the 4
CASES = [{"input": "1 2\n", "output": "3"}, {"input": "2 2\n", "output": "4"}]
STDIO_HALF = "a, b = map(int, input().split())\nprint(a * b)\n"


@pytest.fixture(scope="module", params=["fraction", "all_pass"])
def verifier(request):
    v = build_verifier("code", workers=2, timeout_s=2.0, score=request.param)
    yield v
    v.close()


def test_score_is_the_option_and_status_is_not(verifier):
    right, half = verifier(RIGHT, TESTS), verifier(HALF, TESTS)
    assert right.status is Status.CORRECT and right.score == 1.0
    assert half.status is Status.WRONG  # the verdict rft keeps is all-pass either way
    assert half.score == (0.5 if verifier.score_mode == "fraction" else 0.0)
    stdio = verifier(STDIO_HALF, CASES)
    assert stdio.status is Status.WRONG and stdio.score == (0.5 if verifier.score_mode == "fraction" else 0.0)


def test_a_run_stopped_for_time_scores_nothing_under_all_pass(verifier):
    slow = RIGHT + "import time\ntime.sleep(30)\n"  # the tests never get to run
    result = verifier(slow, TESTS)
    assert result.status is Status.WRONG and result.score == 0.0


def test_the_option_is_in_the_provenance_and_checked():
    assert verifier_identity(CodeVerifier(), "code") == "code@1"  # the default is unchanged
    assert verifier_identity(CodeVerifier(score="all_pass"), "code") == "code@1-all_pass"
    with pytest.raises(ValueError, match="score must be one of fraction, all_pass"):
        CodeVerifier(score="partial")


def test_grpo_reward_follows_the_option():
    """What GRPO sees: ``verifier.options: {score: ...}`` through the runtime and the TRL adapter."""
    for score, expected in (("fraction", [1.0, 0.5]), ("all_pass", [1.0, 0.0])):
        with VerifierRuntime("code", {"score": score, "timeout_s": 2.0}, workers=2, deadline_s=20) as runtime:
            reward = reward_function(runtime)
            assert reward(prompts=["p", "p"], completions=[RIGHT, HALF], reference=[TESTS, TESTS]) == expected
            assert runtime.verify_batch([VerifyItem(HALF, TESTS, {})])[0].status is Status.WRONG
