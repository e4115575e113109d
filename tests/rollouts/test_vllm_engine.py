"""The ``vllm`` backend against the ``hf`` one on the same weights, on CPU (slow; needs vLLM).

    bash launch/setup_vllm.sh && .venv-vllm/bin/python -m pytest -m slow tests/rollouts/test_vllm_engine.py

Parity means: greedy tokens identical, logprobs within :data:`LOGPROB_TOL` (measured: ~2e-5 in
float32 on CPU; different kernels, same math). The tests share this process's one vLLM engine, as
a run does, so they run in file order: parity before and after three real optimizer steps, then
the ways an engine can go stale.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("vllm")
pytestmark = pytest.mark.slow

from rollouts.backends import build_engine, shared_vllm_runtime  # noqa: E402
from rollouts.config import RolloutsConfig  # noqa: E402
from rollouts.engine import RolloutEngine, RolloutRequest, SamplingParams  # noqa: E402
from rollouts.vllm_engine import _repack_heads  # noqa: E402
from selfimprove.models import BUILTIN_SMOLLM2, load_model  # noqa: E402

VLLM = RolloutsConfig(backend="vllm")
#: hf vs vllm logprobs of the same tokens on the same weights (float32, CPU)
LOGPROB_TOL = 5e-4
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=24, num_samples=1)


@pytest.fixture(scope="module")
def smol():
    return load_model(BUILTIN_SMOLLM2, device="cpu")


def requests(n=4):
    return [RolloutRequest(f"p{i}", [{"role": "user", "content": f"What is {i + 3} + {2 * i + 1}? Think step by step."}],
                           reference=str(3 * i + 4), task="arithmetic") for i in range(n)]


def vllm_traces(loaded, model, policy, params=GREEDY, reqs=None, seed=0):
    engine = build_engine(model, loaded.tokenizer, params, VLLM, model_dir=loaded.path, seed=seed, policy=policy,
                          progress=False)
    return engine.generate(reqs or requests())


def assert_parity(loaded, model, policy):
    """Greedy vllm == greedy hf on ``model``'s current weights, which the engine knows as ``policy``."""
    v = vllm_traces(loaded, model, policy)
    h = RolloutEngine(model, loaded.tokenizer, GREEDY, progress=False).generate(requests())
    assert [t.completion_ids for t in v] == [t.completion_ids for t in h], "greedy tokens differ"
    for a, b in zip(v, h):
        assert a.logprobs == pytest.approx(b.logprobs, abs=LOGPROB_TOL)
    assert {t.policy for t in v} == {policy}


def update(model, seed):
    """One real optimizer step (AdamW on a language-modelling loss): every parameter moves, the tied
    embedding / head included."""
    torch.manual_seed(seed)
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (4, 32))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    model.eval()


def test_stop_strings_and_eos_end_completions_as_the_hf_engine_does(smol):
    params = SamplingParams(temperature=0.0, max_new_tokens=40, num_samples=1, stop=["."])
    v = vllm_traces(smol, smol.model, "base", params)
    h = RolloutEngine(smol.model, smol.tokenizer, params, progress=False).generate(requests())
    for a, b in zip(v, h):
        assert a.completion == b.completion and a.finish_reason == b.finish_reason
        assert a.finish_reason == "stop" and a.completion.endswith(".")
    eos = vllm_traces(smol, smol.model, "base", SamplingParams(temperature=0.0, max_new_tokens=200, num_samples=1),
                      [RolloutRequest("hi", [{"role": "user", "content": "Say hi."}])])[0]
    eos_ids = smol.model.generation_config.eos_token_id
    assert eos.finish_reason == "stop" and eos.completion_ids[-1] in (eos_ids if isinstance(eos_ids, list) else [eos_ids])


def test_greedy_parity_before_and_after_three_updates(smol):
    assert smol.model.config.tie_word_embeddings
    assert_parity(smol, smol.model, "base")
    for k in (1, 2, 3):
        before = vllm_traces(smol, smol.model, f"update-{k - 1}" if k > 1 else "base")
        update(smol.model, seed=k)
        assert_parity(smol, smol.model, f"update-{k}")
        after = vllm_traces(smol, smol.model, f"update-{k}")
        assert [t.completion_ids for t in after] != [t.completion_ids for t in before], "the update changed nothing"
    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    assert runtime.syncs == 4  # base + 3 updates; asking again for the same weights does not re-load


def test_an_engine_not_told_of_an_update_is_stale_and_its_traces_say_so(smol):
    update(smol.model, seed=10)  # weights changed in place, name kept: the caller broke the contract
    with pytest.raises(AssertionError):
        assert_parity(smol, smol.model, "update-3")
    assert_parity(smol, smol.model, "update-4")  # named: synced
    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    assert runtime.loaded == "update-4"


def _stale_head(weights):
    """Worker function: make the tied head multiply by ``weights`` (old ones), as a missed re-pack would."""
    def apply(worker):
        head = worker.model_runner.get_model().lm_head
        head.cpu_linear = lambda x, weight, bias: torch.nn.functional.linear(x, weights, bias)
    return apply


def test_a_stale_tied_head_fails_parity_and_the_repack_fixes_it(smol):
    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    old = smol.model.get_input_embeddings().weight.detach().clone()
    update(smol.model, seed=20)
    assert_parity(smol, smol.model, "update-5")
    runtime.llm.collective_rpc(_stale_head(old))  # every layer new, the head's packed copy old
    with pytest.raises(AssertionError):
        assert_parity(smol, smol.model, "update-5")
    assert runtime.llm.collective_rpc(_repack_heads) == [["model.embed_tokens", "lm_head"]]
    assert_parity(smol, smol.model, "update-5")


def test_sampled_logprobs_are_at_the_sampling_temperature(smol):
    params = SamplingParams(temperature=0.7, max_new_tokens=12, num_samples=4)
    traces = vllm_traces(smol, smol.model, "update-5", params, requests(2), seed=3)
    assert [(t.problem_id, t.sample_index) for t in traces] == [(f"p{i}", j) for i in range(2) for j in range(4)]
    assert len({tuple(t.completion_ids) for t in traces}) > 2
    for t in traces[:3]:
        prompt = smol.tokenizer(smol.tokenizer.apply_chat_template(t.messages, add_generation_prompt=True,
                                                                   tokenize=False), add_special_tokens=False).input_ids
        with torch.no_grad():
            logits = smol.model(torch.tensor([prompt + t.completion_ids])).logits[0, len(prompt) - 1 : -1]
        want = torch.log_softmax(logits / 0.7, -1).gather(1, torch.tensor(t.completion_ids)[:, None]).squeeze(1)
        assert t.logprobs == pytest.approx(want.tolist(), abs=LOGPROB_TOL)
        assert (t.temperature, t.max_new_tokens, t.policy) == (0.7, 12, "update-5")
    again = vllm_traces(smol, smol.model, "update-5", params, requests(2), seed=3)
    assert [t.completion_ids for t in again] == [t.completion_ids for t in traces]  # seeded per call


def test_lora_policy_is_synced_merged(smol):
    from peft import LoraConfig, get_peft_model

    fresh = load_model(BUILTIN_SMOLLM2, device="cpu")
    peft_model = get_peft_model(fresh.model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                                        init_lora_weights=False))
    peft_model.eval()
    # Same architecture as the engine already running: the same engine, re-loaded with merged weights.
    assert shared_vllm_runtime(peft_model, fresh.tokenizer, VLLM, model_dir=fresh.path) is \
        shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    assert_parity(fresh, peft_model, "lora")
    assert not any(getattr(m, "merged", False) for m in peft_model.modules())  # unmerged after the sync
