"""Colocated vLLM on 2 ranks of a gloo process group, on CPU (slow; needs vLLM: bash launch/setup_vllm.sh,
then .venv-vllm/bin/python -m pytest -m slow tests/rollouts/test_vllm_colocate_ranks.py).

Each rank starts its own engine under vLLM's ``external_launcher``, as under torchrun, from a
model that has no directory of its own (as a hub id has none): the policy is copied to a
temporary directory by every rank. The scenario runs once (two engine starts per rank, ~2 min on
2 busy cores) and the tests read its record.
"""

from __future__ import annotations

import pytest

pytest.importorskip("vllm")
pytestmark = pytest.mark.slow

from rollouts.engine import RolloutRequest, SamplingParams  # noqa: E402
from tests.rollouts.ranks import run_ranks  # noqa: E402

REQUESTS = [RolloutRequest(f"p{i}", [{"role": "user", "content": f"{i} + {i}?"}]) for i in range(2)]
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=12, num_samples=1)
SAMPLED = SamplingParams(temperature=1.0, max_new_tokens=12, num_samples=4)
#: hf vs vllm logprobs of the same tokens on the same weights (float32, CPU)
LOGPROB_TOL = 5e-4


def tiny_llama():
    """``tiny-random``'s tokenizer and shape, with 2 heads of 32 (vLLM's CPU attention has no
    kernel for tiny-random's head size 16). Seeded: the same weights on every rank."""
    import torch
    from transformers import LlamaForCausalLM

    from selfimprove.models import build_tiny_random

    model, tokenizer = build_tiny_random(0)
    config = model.config
    config.num_attention_heads, config.num_key_value_heads, config.head_dim = 2, 1, 32
    torch.manual_seed(0)
    llama = LlamaForCausalLM(config).eval()
    llama.generation_config = model.generation_config
    return llama, tokenizer


def _scenario(rank: int) -> dict:
    import gc
    import random

    import numpy as np
    import torch
    import torch.distributed as dist

    from rollouts.backends import build_engine, close_shared_runtime, shared_vllm_runtime
    from rollouts.config import RolloutsConfig
    from rollouts.engine import RolloutEngine

    model, tokenizer = tiny_llama()
    cfg = RolloutsConfig(backend="vllm", max_model_len=256)

    def sample(params, seed):
        engine = build_engine(model, tokenizer, params, cfg, seed=seed, policy="base", progress=False)
        return [(t.completion_ids, t.logprobs) for t in engine.generate(REQUESTS)]

    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    before = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    out = {"sampled": sample(SAMPLED, seed=7 + 1_000_003 * rank)}  # as the callers seed: distinct per rank
    after = random.getstate(), np.random.get_state()[1], torch.get_rng_state()
    out["rng_kept"] = [before[0] == after[0], bool(np.array_equal(before[1], after[1])), torch.equal(before[2], after[2])]
    out["greedy"] = sample(GREEDY, seed=0)
    out["hf"] = [(t.completion_ids, t.logprobs) for t in
                 RolloutEngine(model, tokenizer, GREEDY, progress=False).generate(REQUESTS)]

    runtime = shared_vllm_runtime(model, tokenizer, cfg, model_dir=None)
    model.config.use_cache = False  # what every transformers Trainer does to the model it trains
    out["kept_after_trainer"] = shared_vllm_runtime(model, tokenizer, cfg, model_dir=None) is runtime
    import weakref

    engine_model = runtime.llm.collective_rpc(lambda worker: weakref.ref(worker.model_runner.get_model()))[0]
    del runtime
    close_shared_runtime()
    gc.collect()
    out["engine_model_freed"] = engine_model() is None
    total = torch.ones(1)
    dist.all_reduce(total)  # the trainer's process group outlives the engine
    out["all_reduce"] = total.item()
    out["greedy_new_engine"] = sample(GREEDY, seed=0)
    close_shared_runtime()
    return out


@pytest.fixture(scope="module")
def ranks():
    return run_ranks(_scenario, 2, timeout=1500)


def test_every_rank_samples_from_an_engine_started_from_its_own_copy(ranks):
    for got in ranks:
        assert [ids for ids, _ in got["greedy"]] == [ids for ids, _ in got["hf"]]
        for (_, a), (_, b) in zip(got["greedy"], got["hf"]):
            assert a == pytest.approx(b, abs=LOGPROB_TOL)


def test_ranks_seeded_apart_draw_different_samples(ranks):
    assert [ids for ids, _ in ranks[0]["sampled"]] != [ids for ids, _ in ranks[1]["sampled"]]


def test_starting_and_sampling_leave_the_callers_random_state_alone(ranks):
    for got in ranks:
        assert got["rng_kept"] == [True, True, True]  # python, numpy, torch


def test_a_trainer_flag_keeps_the_engine_and_close_frees_it_but_not_the_process_group(ranks):
    for got in ranks:
        assert got["kept_after_trainer"]
        assert got["engine_model_freed"]
        assert got["all_reduce"] == 2.0
        assert [ids for ids, _ in got["greedy_new_engine"]] == [ids for ids, _ in got["greedy"]]
