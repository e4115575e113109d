"""Off-policy correction of GRPO rollouts (#27): a group sampled before the weights moved is
reweighted by trainer / behaviour probability, capped; one older than ``max_staleness`` is
sampled afresh instead of trained on."""

import math

import pytest
import torch

from rollouts.engine import RolloutEngine, SamplingParams
from selfimprove.config import load_config
from selfimprove.sampling import requests_for
from selfimprove.tasks import load_task
from selfimprove.train.grpo_trainer import importance_weights
from selfimprove.train.policy import load_policy
from selfimprove.train.strategies import RoundData, build_strategy
from tests.support import TOY_VERIFIER, tiny_overrides
from verifiers.base import Verification
from verifiers.runtime import VerifierRuntime


def test_weights_are_the_ratio_capped_or_masked_and_one_outside_the_mask():
    behaviour = torch.tensor([[-1.0, -1.0, -1.0, float("nan")]])
    current = torch.tensor([[-1.0, -0.5, 1.0, -1.0]])  # ratios 1, e^0.5, e^2, (no behaviour logprob)
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    weight, clipped, ratio = importance_weights(current, behaviour, mask, "token_truncate", 3.0)
    assert torch.allclose(ratio, torch.tensor([[1.0, math.exp(0.5), math.exp(2.0), 1.0]]))
    assert torch.allclose(weight, torch.tensor([[1.0, math.exp(0.5), 3.0, 1.0]])) and clipped.tolist() == [[0, 0, 1, 0]]
    weight, _, _ = importance_weights(current, behaviour, mask, "token_mask", 3.0)
    assert weight[0, 2] == 0 and weight[0, 1] == pytest.approx(math.exp(0.5))
    weight, _, ratio = importance_weights(current, behaviour, torch.tensor([[1.0, 1.0, 0.0, 1.0]]), "sequence_truncate", 3.0)
    assert weight.shape == (1, 1) and ratio.item() == pytest.approx(math.exp(0.5))  # masked token left out


def _stale_update(tmp_path, **grpo):
    """One grpo update of two steps, one prompt each, both served from groups the base policy
    sampled: the second step's group is one optimizer step stale."""
    cfg = load_config(None, tiny_overrides(tmp_path, "is", **{
        "train.schedule": "[grpo]", "train.grpo.steps_per_round": 2, "train.grpo.prompts_per_step": 1,
        "train.grpo.num_generations": 4, "train.grpo.learning_rate": 5e-2, **grpo}))
    policy = load_policy(cfg, None)
    problems = load_task(cfg.task)["train"][:2]
    engine = RolloutEngine(policy.model, policy.tokenizer, SamplingParams(max_new_tokens=6, temperature=1.0),
                           seed=0, progress=False)
    traces = engine.generate(requests_for(problems, cfg.task), num_samples=4)
    for i, t in enumerate(traces):  # two right, two wrong in each group: both groups have reward variance
        t.verification = Verification.graded(i % 4 < 2, "x")
    groups = {p.id: [t for t in traces if t.problem_id == p.id] for p in problems}
    data = RoundData(1, {p.id: p for p in load_task(cfg.task)["train"]}, traces, groups=groups)
    with VerifierRuntime(TOY_VERIFIER, workers=1, in_process=True) as runtime:
        result = build_strategy("grpo", cfg, runtime, tmp_path / "work").update(policy, data, seed=0)
    return result, [e for e in result.log_history if "offpolicy/staleness_max" in e]


def test_a_stale_group_gets_ratios_other_than_one_and_they_are_capped(tmp_path):
    result, steps = _stale_update(tmp_path, **{"train.grpo.importance_cap": 1.01})
    assert [s["offpolicy/staleness_max"] for s in steps] == [0, 1]
    fresh, stale = steps
    assert abs(fresh["offpolicy/ratio_max"] - 1) < 1e-4 and fresh["offpolicy/clipped"] == 0
    assert stale["offpolicy/ratio_max"] > 1.01 and stale["offpolicy/clipped"] > 0  # capped at 1.01 in the loss
    assert result.metrics["train/served_cached"] == 8 and result.metrics["train/sampled_fresh"] == 0


def test_a_group_older_than_max_staleness_is_never_trained_on(tmp_path):
    result, steps = _stale_update(tmp_path, **{"train.grpo.max_staleness": 0})
    assert [s["offpolicy/staleness_max"] for s in steps] == [0, 0]
    assert result.metrics["train/stale_dropped"] == 4 and result.metrics["train/served_cached"] == 4
    assert result.metrics["train/sampled_fresh"] >= 4  # the second step's prompt, sampled by the current weights
