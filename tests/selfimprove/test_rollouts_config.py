"""The ``rollouts`` config section as users set it, and TRL's own vLLM switch pointing to it."""

import pytest

from selfimprove.config import ConfigError, load_config


def test_rollouts_section_loads_from_overrides():
    cfg = load_config(None, ["rollouts.backend=vllm", "rollouts.cpu_kv_cache_gib=2", "rollouts.enforce_eager=false"])
    assert (cfg.rollouts.backend, cfg.rollouts.cpu_kv_cache_gib, cfg.rollouts.enforce_eager) == ("vllm", 2.0, False)
    assert load_config(None).rollouts.backend == "hf"


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="rollouts.backend"):
        load_config(None, ["rollouts.backend=sglang"])


def test_server_mode_without_url_is_a_config_error():
    with pytest.raises(ConfigError, match="server_url"):
        load_config(None, ["rollouts.backend=vllm", "rollouts.mode=server"])


@pytest.mark.parametrize("key", ["use_vllm", "vllm_mode"])
def test_trl_vllm_switches_point_to_rollouts_backend(key):
    with pytest.raises(ConfigError, match=rf"extra.{key} is not supported.*rollouts.backend=vllm"):
        load_config(None, [f"train.grpo.extra={{{key}: true}}"])
