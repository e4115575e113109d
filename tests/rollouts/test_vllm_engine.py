"""The ``vllm`` backend against the ``hf`` one on the same weights, on CPU (slow; needs vLLM).

    bash launch/setup_vllm.sh && .venv-vllm/bin/python -m pytest -m slow tests/rollouts/test_vllm_engine.py

Parity means: greedy tokens identical, logprobs within :data:`LOGPROB_TOL` (measured: ~2e-5 in
float32 on CPU; different kernels, same math), and every layer's CPU GEMM kernel computing with the
trainer's current weights (:func:`stale_layers`, which names the layers that do not). The tests
share this process's one vLLM engine, as a run does, so they run in file order: parity before and
after three real optimizer steps, then the ways an engine can go stale.

The engine starts from a checkpoint that stores the tied head as ``lm_head.weight`` (as the
built-in model's conversion writes it), so vLLM builds a head of its own: the layout a sync once
left on the starting weights. A later test ties the head in the running engine, as vLLM does for
a checkpoint without that name.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch

pytest.importorskip("vllm")
pytestmark = pytest.mark.slow

from rollouts.backends import build_engine, shared_vllm_runtime  # noqa: E402
from rollouts.config import RolloutsConfig  # noqa: E402
from rollouts.engine import RolloutEngine, RolloutRequest, SamplingParams  # noqa: E402
from rollouts.weights import checkpoint_weights  # noqa: E402
from selfimprove.models import BUILTIN_SMOLLM2, LoadedModel, load_model  # noqa: E402

VLLM = RolloutsConfig(backend="vllm")
#: hf vs vllm logprobs of the same tokens on the same weights (float32, CPU)
LOGPROB_TOL = 5e-4
#: a layer's CPU GEMM kernel vs F.linear with the trainer's weight, on a probe input (measured: 4e-5
#: for oneDNN in float32; a kernel one optimizer step behind is 0.1-0.3 off)
KERNEL_TOL = 1e-3
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=24, num_samples=1)


def with_own_head(loaded: LoadedModel, directory: Path) -> LoadedModel:
    """``loaded``, with its directory replaced by a copy whose weights keep the tied tensor as
    ``lm_head.weight`` only: what ``safetensors.torch.save_model`` writes (the built-in model's
    conversion), whatever the age of this machine's model cache. vLLM starts from it with a head
    of its own."""
    for f in Path(loaded.path).iterdir():
        if f.is_file() and f.suffix != ".safetensors":
            shutil.copy(f, directory / f.name)
    from safetensors.torch import save_model

    save_model(loaded.model, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return dataclasses.replace(loaded, path=str(directory))


@pytest.fixture(scope="module")
def smol(tmp_path_factory):
    return with_own_head(load_model(BUILTIN_SMOLLM2, device="cpu"), tmp_path_factory.mktemp("smol"))


def requests(n=4):
    return [RolloutRequest(f"p{i}", [{"role": "user", "content": f"What is {i + 3} + {2 * i + 1}? Think step by step."}],
                           reference=str(3 * i + 4), task="arithmetic") for i in range(n)]


def vllm_traces(loaded, model, policy, params=GREEDY, reqs=None, seed=0):
    engine = build_engine(model, loaded.tokenizer, params, VLLM, model_dir=loaded.path, seed=seed, policy=policy,
                          progress=False)
    return engine.generate(reqs or requests())


def stale_layers(loaded, model) -> dict[str, float]:
    """The engine's layers whose CPU GEMM kernel does not compute with ``model``'s current weights:
    {vLLM layer name: max |kernel(x) - F.linear(x, W)|} over :data:`KERNEL_TOL`, first layer first.

    The kernel is what vLLM multiplies with (``layer.cpu_linear``, built from a copy of the weight);
    W is the trainer's weight as sent (checkpoint names, LoRA merged), fused as vLLM fuses it
    (``packed_modules_mapping``: q/k/v -> qkv_proj, gate/up -> gate_up_proj).
    """
    runtime = shared_vllm_runtime(model, loaded.tokenizer, VLLM, model_dir=loaded.path)

    def probe(weights):
        def run(worker):
            vllm_model = worker.model_runner.get_model()
            fused = getattr(vllm_model, "packed_modules_mapping", {})
            off = {}
            for name, layer in vllm_model.named_modules():
                if not hasattr(layer, "cpu_linear"):
                    continue
                prefix, _, leaf = name.rpartition(".")
                parts = [f"{prefix}.{p}" if prefix else p for p in fused.get(leaf, [leaf])]
                w = torch.cat([weights[f"{p}.weight"] for p in parts])  # [N, K]
                x = torch.randn(4, w.shape[1], generator=torch.Generator().manual_seed(0), dtype=w.dtype)
                with torch.no_grad():
                    diff = (layer.cpu_linear(x, layer.weight, None) - torch.nn.functional.linear(x, w)).abs().max()
                if diff > KERNEL_TOL:
                    off[name] = round(diff.item(), 4)
            return off
        return run

    with checkpoint_weights(model, aliases=True) as weights:
        return runtime.llm.collective_rpc(probe(dict(weights)))[0]


def assert_parity(loaded, model, policy):
    """Greedy vllm == greedy hf on ``model``'s current weights, which the engine knows as ``policy``;
    a failure names the layers whose kernels are stale."""
    v = vllm_traces(loaded, model, policy)
    h = RolloutEngine(model, loaded.tokenizer, GREEDY, progress=False).generate(requests())
    stale = stale_layers(loaded, model)
    assert [t.completion_ids for t in v] == [t.completion_ids for t in h], f"tokens differ; stale layers: {stale}"
    for a, b in zip(v, h):
        assert a.logprobs == pytest.approx(b.logprobs, abs=LOGPROB_TOL), f"stale layers: {stale}"
    assert not stale, f"layers computing with other weights than the trainer's: {stale}"
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


def _head_is_tied(worker) -> bool:
    vllm_model = worker.model_runner.get_model()
    return vllm_model.lm_head.weight is vllm_model.model.embed_tokens.weight


def test_greedy_parity_before_and_after_three_updates(smol):
    assert smol.model.config.tie_word_embeddings
    assert_parity(smol, smol.model, "base")
    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    assert runtime.llm.collective_rpc(_head_is_tied) == [False]  # the head is a tensor of its own (module docstring)
    for k in (1, 2, 3):
        before = vllm_traces(smol, smol.model, f"update-{k - 1}" if k > 1 else "base")
        update(smol.model, seed=k)
        assert_parity(smol, smol.model, f"update-{k}")
        after = vllm_traces(smol, smol.model, f"update-{k}")
        assert [t.completion_ids for t in after] != [t.completion_ids for t in before], "the update changed nothing"
    assert runtime.syncs == 4  # base + 3 updates; asking again for the same weights does not re-load


def test_an_engine_not_told_of_an_update_is_stale_and_its_traces_say_so(smol):
    update(smol.model, seed=10)  # weights changed in place, name kept: the caller broke the contract
    with pytest.raises(AssertionError):
        assert_parity(smol, smol.model, "update-3")
    assert_parity(smol, smol.model, "update-4")  # named: synced
    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    assert runtime.loaded == "update-4"


def _stale_head(weights):
    """Worker function: make the head multiply by ``weights`` (old ones), as a head the sync missed would."""
    def apply(worker):
        head = worker.model_runner.get_model().lm_head
        head.cpu_linear = lambda x, weight, bias: torch.nn.functional.linear(x, weights, bias)
    return apply


def test_a_stale_head_fails_parity_by_name_and_the_next_sync_rebuilds_it(smol):
    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    old = smol.model.get_input_embeddings().weight.detach().clone()
    update(smol.model, seed=20)
    assert_parity(smol, smol.model, "update-5")
    runtime.llm.collective_rpc(_stale_head(old))  # every layer new, the head's kernel old
    with pytest.raises(AssertionError, match=r"stale layers: \{'lm_head': "):
        assert_parity(smol, smol.model, "update-5")
    assert_parity(smol, smol.model, "update-5-again")  # a reload re-runs the head's post-load processing


def test_a_head_tied_in_the_engine_is_synced_too(smol):
    """The other layout: vLLM ties the head to the embedding (one tensor) when its checkpoint has no
    ``lm_head.weight``; tied here in place, as vLLM's own ``tie_weights`` does."""
    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)

    def tie(worker):
        vllm_model = worker.model_runner.get_model()
        vllm_model.lm_head = vllm_model.lm_head.tie_weights(vllm_model.model.embed_tokens)

    runtime.llm.collective_rpc(tie)
    assert runtime.llm.collective_rpc(_head_is_tied) == [True]
    start = load_model(BUILTIN_SMOLLM2, device="cpu").model  # five updates away from what the engine holds
    assert_parity(smol, start, "base-tied")
    assert runtime.llm.collective_rpc(_head_is_tied) == [True]


def test_the_cpu_gemm_kernels_are_reported(smol):
    """Which kernel each layer got depends on the CPU (oneDNN, sgl-kernel on AMX, zentorch on AMD
    with zentorch installed); every layer is counted once, under a kernel's name."""
    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    kernels = runtime.cpu_gemm_kernels()
    layers = 4 * smol.model.config.num_hidden_layers + 2  # qkv, o, gate_up, down per layer; embedding, head
    assert sum(kernels.values()) == layers, kernels
    assert set(kernels) <= {"onednn_mm", "weight_packed_linear_cpu", "zentorch_linear_unary", "linear"}, kernels


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


def test_sampling_leaves_the_callers_random_state_alone(smol):
    """The training process's generators (dropout, the trainer's shuffles, the run state a resume
    restores) are not re-seeded by a sampling call."""
    import random

    import numpy as np

    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    before = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    vllm_traces(smol, smol.model, "update-5", SamplingParams(temperature=0.7, max_new_tokens=8, num_samples=2),
                requests(2), seed=3)
    assert random.getstate() == before[0] and np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])


def test_a_trainer_does_not_restart_the_engine(smol, tmp_path):
    from transformers import Trainer, TrainingArguments

    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    Trainer(model=smol.model, args=TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True))
    assert smol.model.config.use_cache is False  # set by every transformers Trainer
    assert shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path) is runtime


def test_close_frees_the_engine_and_keeps_the_process_group(smol):
    """Last: it closes the module's engine. vLLM's own shutdown destroys torch.distributed's
    default group (the trainer's, under torchrun; here the one vLLM made for itself)."""
    import gc
    import weakref

    from rollouts.backends import close_shared_runtime

    runtime = shared_vllm_runtime(smol.model, smol.tokenizer, VLLM, model_dir=smol.path)
    model = runtime.llm.collective_rpc(lambda worker: weakref.ref(worker.model_runner.get_model()))[0]
    assert torch.distributed.is_initialized()
    del runtime
    close_shared_runtime()
    gc.collect()
    assert model() is None
    assert torch.distributed.is_initialized()
    assert_parity(smol, smol.model, "update-5")  # a new engine starts, with the group kept
