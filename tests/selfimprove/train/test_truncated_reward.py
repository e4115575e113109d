"""``train.grpo.truncated``: a training sample the length cap cut off is not graded on its partial text.

Graded, "... 57 + 46 = 103. The final answer is 103.\\n\\n```python\\ndef add_five_to" (cut at 64
tokens) was correct, so GRPO rewarded rambling past the answer and the policy learned to run to
the cap (issue #27's ablation: 0.71 of dev answers truncated at 192 tokens).
"""

import pytest

from rollouts.engine import RolloutEngine, SamplingParams
from selfimprove.config import load_config
from selfimprove.configio import ConfigError
from selfimprove.sampling import CUT_OFF, grade
from selfimprove.tasks.base import Problem
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
    with pytest.raises(ConfigError, match="'train.grpo.truncated' must be one of 'invalid' | 'grade', got 'zero'"):
        load_config(None, ["train.grpo.truncated=zero"])
    with pytest.raises(ValueError, match="truncated must be one of invalid, grade"):
        grade([trace("p1", "4", None)], math_runtime, truncated="zero")


class HalfStopped(RolloutEngine):
    """The tiny model's samples with every other one marked as stopped: a random model rarely
    stops by itself, and the rule must hold for a mix of cut-off and finished samples."""

    def generate(self, requests, num_samples=None):
        traces = super().generate(requests, num_samples)
        for t in traces[::2]:
            t.finish_reason = "stop"
        return traces


def test_the_rollout_source_grades_finished_samples_and_rewards_cut_off_ones_zero(tiny, math_runtime):
    """Fresh groups sampled inside TRL's steps are graded with the same rule as the generate phase's."""
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    problem = Problem(id="p1", prompt="What is 2 + 2?", reference="4", task="arithmetic")
    engine = HalfStopped(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=3), seed=0, progress=False)
    runtime = Counting(math_runtime)
    source = RolloutSource(engine, {prompt_key(messages): problem}, runtime=runtime, truncated="invalid")
    out = source([messages] * 8, None)
    cut = [t.finish_reason == "length" for t in source.fresh]
    assert sum(cut) == 4  # the tiny model ran every sample to the 3-token cap; half are marked stopped
    assert all((t.verification == CUT_OFF) == c for t, c in zip(source.fresh, cut))
    assert runtime.graded == [t.completion for t, c in zip(source.fresh, cut) if not c]
    assert [r for r, c in zip(out["rollout_reward"], cut) if c] == [0.0] * 4


def test_a_grpo_round_grades_its_generate_phase_and_its_rollouts_by_the_rule(tmp_path):
    """The strategy passes ``train.grpo.truncated`` to every grading it does: the generate phase
    (whose groups most steps train on), the round's refill, and the update's fresh samples."""
    import pyarrow.parquet as pq

    from selfimprove.config import load_config
    from selfimprove.train.loop import run_train
    from tests.support import tiny_overrides

    cfg = load_config(None, tiny_overrides(tmp_path, "g", **{
        "train.rounds": 1, "train.schedule": "[grpo]", "train.grpo.truncated": "invalid",
        "train.grpo.steps_per_round": 1, "train.grpo.prompts_per_step": 2, "train.grpo.num_generations": 4,
        "train.grpo.dynamic_sampling": "round", "train.grpo.reuse_rollouts": False, "train.eval_every": 2}))
    run_train(cfg, quiet=True)
    phases = {}
    for name in ("generate", "rollouts"):
        rows = pq.read_table(tmp_path / "g" / "traces" / "round-001" / f"{name}.parquet").to_pylist()
        phases[name] = [(r["finish_reason"], r["status"], r["feedback"]) for r in rows]
    assert len(phases["generate"]) > 8  # 2 prompts x 4, then a refill pass for the flat groups
    for name, rows in phases.items():
        assert any(f == "length" for f, _, _ in rows), name
        for finish, status, feedback in rows:
            assert (status == "invalid" and feedback == CUT_OFF.feedback) == (finish == "length"), (name, finish, status)
