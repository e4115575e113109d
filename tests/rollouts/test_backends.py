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
])
def test_bad_settings_fail_with_the_key(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RolloutsConfig(**kwargs)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_vllm_backend_without_vllm_names_the_install(tiny):
    with pytest.raises(ImportError, match=r"selfimprove\[vllm\].*setup_vllm.sh"):
        build_engine(tiny.model, tiny.tokenizer, SamplingParams(), RolloutsConfig(backend="vllm"))
