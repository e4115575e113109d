"""consolidated_model under ZeRO-3: placement and dtype, peft models, and the weights themselves.

The 2-rank gloo runs in test_distributed_training.py and tests/launch check it on a real
partitioned model; here a model that DeepSpeed did not partition (``GatheredParameters`` is then a
no-op) stands in, so a fake device can prove where the copy lands.
"""

import copy
import types

import pytest
import torch

from selfimprove.models import build_tiny_random
from selfimprove.zero_export import consolidated_model


@pytest.fixture
def zero3(monkeypatch):
    import transformers.integrations

    monkeypatch.setattr(transformers.integrations, "is_deepspeed_zero3_enabled", lambda: True)


def stub_trainer(model, device):
    return types.SimpleNamespace(model=model, accelerator=types.SimpleNamespace(device=torch.device(device)))


def test_lands_on_the_trainers_device_in_the_training_dtype(zero3):
    model = build_tiny_random(0)[0].to(torch.bfloat16)
    plain = consolidated_model(stub_trainer(model, "meta"))  # a stand-in for cuda:N: no copy to the host
    assert plain is not model
    assert {p.device.type for p in plain.parameters()} == {"meta"}
    assert {p.dtype for p in plain.parameters()} == {torch.bfloat16}


def test_copies_weights_and_buffers_and_keeps_ties(zero3):
    model = build_tiny_random(0)[0].to(torch.bfloat16)
    with torch.no_grad():
        model.model.embed_tokens.weight.add_(0.5)  # "trained"
    plain = consolidated_model(stub_trainer(model, "cpu"))
    for (name, a), (_, b) in zip(model.state_dict().items(), plain.state_dict().items()):
        assert torch.equal(a, b), name
    assert plain.lm_head.weight.data_ptr() == plain.model.embed_tokens.weight.data_ptr()
    ids = torch.tensor([[5, 6, 7]])
    assert torch.equal(model(ids).logits, plain(ids).logits)


def test_a_peft_model_stays_a_peft_model_with_its_adapters(zero3):
    from peft import LoraConfig, get_peft_model

    base = build_tiny_random(0)[0]
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_()  # a trained adapter (B starts at zero)
    plain = consolidated_model(stub_trainer(model, "cpu"))
    assert type(plain) is type(model) and plain is not model
    ids = torch.tensor([[5, 6, 7]])
    assert torch.allclose(model(ids).logits, plain(ids).logits)
    merged = copy.deepcopy(plain).merge_and_unload()
    assert torch.allclose(merged(ids).logits, model(ids).logits, atol=1e-5)
