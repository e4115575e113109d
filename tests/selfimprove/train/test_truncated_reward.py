"""``train.grpo.truncated``: a training sample the length cap cut off is not graded on its partial text.

Graded, "... 57 + 46 = 103. The final answer is 103.\\n\\n```python\\ndef add_five_to" (cut at 64
tokens) was correct, so GRPO rewarded rambling past the answer and the policy learned to run to
the cap (issue #27's ablation: 0.71 of dev answers truncated at 192 tokens).
"""

import pytest

from rollouts.engine import RolloutEngine, SamplingParams
from selfimprove.sampling import CUT_OFF, grade
from selfimprove.tasks.base import Problem
from selfimprove.train.config import GRPOOptions
from selfimprove.train.rollout_source import RolloutSource, prompt_key
from tests.support import trace
from verifiers.runtime import VerifierRuntime

RAMBLE = "57 + 46 = 103. The final answer is \\boxed{103}.\n\n```python\ndef add_five_to"


class Counting:
    """The math runtime, counting the completions it is asked to grade."""

    def __init__(self, runtime: VerifierRuntime) -> None:
        self.runtime, self.identity, self.graded = runtime, runtime.identity, []

    def verify_batch(self, items, progress=False):
        self.graded += [i.completion for i in items]
        return self.runtime.verify_batch(items, progress=progress)


@pytest.fixture(scope="module")
def math_runtime():
    with VerifierRuntime("math", workers=1, in_process=True) as runtime:
        yield runtime


def _pair():
    cut, done = trace("p1", RAMBLE, None), trace("p1", "57 + 46 = 103, so \\boxed{103}.", None, index=1)
    cut.finish_reason = "length"
    cut.reference = done.reference = "103"
    return cut, done


def test_invalid_gives_a_cut_off_completion_no_reward_and_never_calls_the_verifier(math_runtime):
    runtime = Counting(math_runtime)
    cut, done = _pair()
    grade([cut, done], runtime, truncated="invalid")
    assert cut.verification == CUT_OFF and cut.verification.score == 0.0 and str(cut.verification.status) == "invalid"
    assert "length cap" in cut.verification.feedback and cut.verifier == math_runtime.identity
    assert done.verification.correct and done.verification.score == 1.0
    assert runtime.graded == [done.completion]  # the cut-off text was never graded


def test_grade_grades_the_partial_text_as_evaluation_does(math_runtime):
    cut, done = _pair()
    grade([cut, done], math_runtime)  # the default: evaluation's behaviour
    assert cut.verification.correct and done.verification.correct


def test_a_batch_of_cut_off_completions_only(math_runtime):
    runtime = Counting(math_runtime)
    cut, _ = _pair()
    grade([cut], runtime, truncated="invalid")
    assert cut.verification == CUT_OFF and runtime.graded == []


def test_unknown_values_are_refused_with_the_choices(math_runtime):
    with pytest.raises(ValueError, match="truncated must be one of invalid, grade, got 'zero'"):
        GRPOOptions(truncated="zero")
    with pytest.raises(ValueError, match="truncated must be one of invalid, grade"):
        grade([trace("p1", "4", None)], math_runtime, truncated="zero")


def test_the_rollout_source_rewards_fresh_cut_off_samples_zero(tiny, math_runtime):
    """Fresh groups sampled inside TRL's steps are graded with the same rule as the generate phase's."""
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    problem = Problem(id="p1", prompt="What is 2 + 2?", reference="4", task="arithmetic")
    engine = RolloutEngine(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=3), seed=0, progress=False)
    source = RolloutSource(engine, {prompt_key(messages): problem}, runtime=Counting(math_runtime),
                           truncated="invalid")
    out = source([messages] * 8, None)
    cut = [t.finish_reason == "length" for t in source.fresh]
    assert any(cut)  # a random model rarely stops within 3 tokens
    assert all(t.verification == CUT_OFF for t, c in zip(source.fresh, cut) if c)
    assert [r for r, c in zip(out["rollout_reward"], cut) if c] == [0.0] * sum(cut)
    assert len(source.runtime.graded) == len(cut) - sum(cut)
