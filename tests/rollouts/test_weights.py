"""rollouts.weights: what a vLLM engine is sent (names, tied head, LoRA merged). No vLLM needed."""

import pytest
import torch

from rollouts.weights import checkpoint_weights


def test_plain_model_sends_every_parameter_once_under_checkpoint_names(tiny):
    with checkpoint_weights(tiny.model) as weights:
        sent = dict(weights)
    saved = tiny.model.state_dict()
    # The tied head is the embedding: sent once, under the embedding's name (vLLM ties it itself).
    assert tiny.model.config.tie_word_embeddings and "lm_head.weight" not in sent
    assert set(sent) == set(saved) - {"lm_head.weight"}
    for name, tensor in sent.items():
        assert torch.equal(tensor, saved[name])


def test_lora_is_merged_and_sent_under_base_names(tiny):
    from peft import LoraConfig, get_peft_model

    from selfimprove.models import build_tiny_random

    base, _ = build_tiny_random(seed=0)
    names = set(base.state_dict()) - {"lm_head.weight"}
    q = "model.layers.0.self_attn.q_proj.weight"
    q_before = base.state_dict()[q].clone()
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False))  # non-zero B: the adapter changes outputs
    with checkpoint_weights(model) as weights:
        sent = {n: t.clone() for n, t in weights}
    assert set(sent) == names
    merged = model.merge_and_unload()
    for name, tensor in merged.state_dict().items():
        if name in sent:
            assert torch.allclose(sent[name], tensor, atol=1e-6), name
    assert not torch.allclose(sent[q], q_before)  # the adapter's delta is in what was sent


def test_lora_adapters_are_unmerged_after_the_block(tiny):
    from peft import LoraConfig, get_peft_model

    from selfimprove.models import build_tiny_random

    base, _ = build_tiny_random(seed=1)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"], init_lora_weights=False))
    ids = torch.tensor([[5, 6, 7]])
    before = model(ids).logits
    with checkpoint_weights(model) as weights:
        list(weights)
    assert torch.allclose(model(ids).logits, before, atol=1e-6)
    assert not any(getattr(m, "merged", False) for m in model.modules())
