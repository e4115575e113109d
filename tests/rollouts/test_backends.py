"""rollouts.backends / rollouts.config: the engine factory and the ``rollouts`` section (no vLLM needed)."""

import importlib.util

import pytest

from rollouts.backends import BACKENDS, build_engine
from rollouts.config import RolloutsConfig
from rollouts.engine import RolloutEngine, RolloutRequest, RolloutStats, SamplingParams


def test_hf_backend_is_the_hf_engine_with_the_callers_identity(tiny):
    stats = RolloutStats()
    engine = build_engine(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=3, num_samples=2),
                          RolloutsConfig(), seed=4, policy="checkpoints/round-001", round=1, progress=False,
                          stats=stats)
    assert isinstance(engine, RolloutEngine)
    traces = engine.generate([RolloutRequest("p", [{"role": "user", "content": "1 + 1?"}])])
    assert [t.policy for t in traces] == ["checkpoints/round-001"] * 2 and stats.sequences == 2


def test_every_configurable_backend_has_a_builder():
    import typing

    assert set(typing.get_args(typing.get_type_hints(RolloutsConfig)["backend"])) == set(BACKENDS)


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "vllm", "mode": "server"}, "mode=server needs server_url"),
    ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization"),
    ({"cpu_kv_cache_gib": 0}, "cpu_kv_cache_gib"),
    ({"cpu_kv_cache_gib": 0.5}, "whole number of GiB"),  # vLLM failed at start on VLLM_CPU_KVCACHE_SPACE=0.5
])
def test_bad_settings_fail_with_the_key(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RolloutsConfig(**kwargs)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_vllm_backend_without_vllm_names_the_install(tiny):
    with pytest.raises(ImportError, match=r"selfimprove\[vllm\].*setup_vllm.sh"):
        build_engine(tiny.model, tiny.tokenizer, SamplingParams(), RolloutsConfig(backend="vllm"))


class FakeColocated:
    """Stands in for :class:`rollouts.vllm_engine.ColocatedRuntime` (no vLLM in the default
    environment): counts the engines started and closed."""

    started: list["FakeColocated"] = []

    def __init__(self, model_dir, cfg, *, dtype, on_cpu, seed):
        self.model_dir, self.closed = model_dir, False
        FakeColocated.started.append(self)

    def close(self):
        self.closed = True


@pytest.fixture
def fake_colocated(monkeypatch):
    from rollouts.backends import close_shared_runtime

    monkeypatch.setattr("rollouts.vllm_engine.ColocatedRuntime", FakeColocated)
    FakeColocated.started = []
    yield FakeColocated.started
    close_shared_runtime()


def test_a_trainer_round_does_not_start_a_second_engine(tiny, fake_colocated, tmp_path):
    """The Trainer sets ``use_cache = False`` on the model's config, and saving fills in
    ``architectures`` and ``dtype``: none of that changes the engine vLLM builds."""
    import copy

    import torch
    from transformers import Trainer, TrainingArguments

    from rollouts.backends import shared_vllm_runtime

    model, cfg = copy.deepcopy(tiny.model), RolloutsConfig(backend="vllm")
    first = shared_vllm_runtime(model, tiny.tokenizer, cfg, model_dir=None)
    ids = torch.randint(0, model.config.vocab_size, (8,))
    trainer = Trainer(model=model, train_dataset=[{"input_ids": ids, "labels": ids}] * 2,
                      args=TrainingArguments(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2,
                                             report_to=[], use_cpu=True, save_strategy="no"))
    trainer.train()
    trainer.save_model(str(tmp_path / "model"))
    assert model.config.use_cache is False  # what the Trainer does to every model it trains
    assert shared_vllm_runtime(model, tiny.tokenizer, cfg, model_dir=None) is first
    assert len(fake_colocated) == 1 and not first.closed
    # What does decide the engine still replaces it, and the old one is shut down first.
    second = shared_vllm_runtime(model, tiny.tokenizer, RolloutsConfig(backend="vllm", max_model_len=256),
                                 model_dir=None)
    assert second is not first and first.closed and len(fake_colocated) == 2
