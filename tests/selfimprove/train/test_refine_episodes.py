"""GRPO on refinement episodes: the spliced sequence, the masks, the reward, a real TRL round."""

from __future__ import annotations

import pandas as pd
import pytest

from rollouts.engine import RolloutEngine, SamplingParams
from rollouts.trace import Trace
from selfimprove.config import load_config
from selfimprove.tasks.base import Problem
from selfimprove.train.loop import run_train
from selfimprove.train.refine_episodes import RefineEpisodes
from selfimprove.store import TraceStore
from selfimprove.train.rollout_source import RolloutSource, prompt_key, rollout_reward
from tests.support import TOY_VERIFIER, tiny_overrides
from verifiers.runtime import VerifierRuntime


def _attempt(tok, messages, text: str, eos: bool) -> Trace:
    ids = tok(text, add_special_tokens=False).input_ids + ([tok.eos_token_id] if eos else [])
    return Trace(problem_id="p1", task="toy", messages=messages, completion=text, completion_ids=ids,
                 logprobs=[-0.1] * len(ids), finish_reason="stop" if eos else "length", reference="4")


@pytest.mark.parametrize("eos", [True, False])
def test_episode_is_the_conversation_the_revision_was_sampled_from(tiny, eos):
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    engine = RolloutEngine(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=4, temperature=1.0),
                           seed=0, progress=False)
    tok = tiny.tokenizer
    right, wrong = _attempt(tok, messages, "4 is it", eos), _attempt(tok, messages, "five", eos)
    with VerifierRuntime(TOY_VERIFIER, workers=1, in_process=True) as runtime:
        builder = RefineEpisodes(engine, runtime)
        (first, second), = builder.build([[right, wrong]])

    assert first.revision is None and first.completion_ids == right.completion_ids and first.score == 1.0
    assert set(first.env_mask) == {1}
    rev = second.revision
    assert rev is not None and builder.revisions == [rev] and rev.turns[0].completion == "five"
    assert rev.verification is not None and second.score == rev.verification.score
    prompt_ids = tok(engine.render(messages), add_special_tokens=False).input_ids
    n_attempt, n_rev = len(wrong.completion_ids), len(second.completion_ids) - len(rev.completion_ids)
    bridge = second.completion_ids[n_attempt:n_rev]
    # Attempt and revision tokens are the sampled ones; only the feedback turn between them is masked.
    assert second.completion_ids[:n_attempt] == wrong.completion_ids
    assert second.completion_ids[n_rev:] == rev.completion_ids
    assert second.env_mask == [1] * n_attempt + [0] * len(bridge) + [1] * len(rev.completion_ids)
    assert len(second.logprobs) == len(second.completion_ids)
    # Prompt + attempt + bridge is, as text, exactly the revision's prompt.
    assert tok.decode(prompt_ids + second.completion_ids[:n_rev]) == engine.render(rev.messages)
    assert "must start with a digit" in tok.decode(bridge)  # the verifier's feedback


def test_rollout_source_emits_masks_and_scores_and_the_reward_reads_them(tiny):
    p = Problem(id="p1", prompt="What is 2 + 2?", reference="4", task="toy")
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    engine = RolloutEngine(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=4, temperature=1.0),
                           seed=0, progress=False)
    with VerifierRuntime(TOY_VERIFIER, workers=1, in_process=True) as runtime:
        source = RolloutSource(engine, {prompt_key(messages): p}, episodes=RefineEpisodes(engine, runtime))
        out = source([messages] * 4, None)
    assert len(out["completion_ids"]) == 4 and len(source.fresh) == 4
    assert [len(m) for m in out["env_mask"]] == [len(c) for c in out["completion_ids"]]
    assert rollout_reward(None, [""] * 4, **{"rollout_reward": out["rollout_reward"]}) == out["rollout_reward"]
    with pytest.raises(ValueError, match="rollout_reward"):
        rollout_reward(None, [""] * 4)


def test_grpo_round_on_refinement_episodes(tmp_path):
    cfg = load_config(None, tiny_overrides(tmp_path, "refine", **{
        "train.rounds": 1, "train.schedule": "[grpo]", "train.grpo.refine": True, "train.grpo.steps_per_round": 1,
        "train.grpo.num_generations": 4, "train.grpo.prompts_per_step": 2, "train.prompts_per_round": 8,
        "train.rft.samples_per_prompt": 4, "train.curriculum.enabled": False}))
    history = run_train(cfg, quiet=True)
    assert history[-1]["round"] == 1
    rows = TraceStore(tmp_path / "refine" / "traces").dataset().to_pandas()
    revisions = rows[rows["turns"].apply(len) > 0]
    assert len(revisions) > 0 and (revisions["round"] == 1).all()
    metrics = pd.read_json(tmp_path / "refine" / "metrics.jsonl", lines=True)
    assert metrics["train/revisions"].dropna().iloc[-1] == len(revisions)


TRIMMING = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim"
            " + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
DROPPING = ("{% for message in messages %}{% if message['role'] != 'assistant' %}{{ '<|im_start|>' + message['role']"
            " + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endif %}{% endfor %}"
            "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def test_templates_that_cannot_splice_fail_early_or_fall_back_per_sample(tiny, monkeypatch):
    monkeypatch.setattr(tiny.tokenizer, "chat_template", DROPPING)
    engine = RolloutEngine(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=4, temperature=1.0),
                           seed=0, progress=False)
    with VerifierRuntime(TOY_VERIFIER, workers=1, in_process=True) as runtime:
        with pytest.raises(ValueError, match="train.grpo.refine off"):
            RefineEpisodes(engine, runtime)
        monkeypatch.setattr(tiny.tokenizer, "chat_template", TRIMMING)
        builder = RefineEpisodes(engine, runtime)  # trims only surrounding whitespace: accepted
        messages = [{"role": "user", "content": "What is 2 + 2?"}]
        (episode,), = builder.build([[_attempt(tiny.tokenizer, messages, " five ", True)]])
    assert episode.revision is None and builder.unspliced == 1 and len(builder.revisions) == 1
    assert set(episode.env_mask) == {1} and episode.score == 0.0
