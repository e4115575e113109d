"""Build the rollout engine a ``rollouts`` config section asks for.

:func:`build_engine` is the one place an engine is made (``selfimprove.sampling`` for eval and
every sampling phase, GRPO's ``rollout_func``). Every engine has the interface of
:class:`rollouts.engine.RolloutEngine`: ``generate(requests, num_samples) -> list[Trace]``, and
``model``, ``tokenizer``, ``params``, ``seed``, ``policy``, ``round``, ``stats``, ``render``,
``eos_ids``. An engine is cheap and made per call; what is expensive (a vLLM engine) lives in a
per-process runtime that :func:`build_engine` keeps across calls and rounds, and that syncs its
weights from the engine's ``model`` whenever the engine's ``policy`` names other weights.

Adding a backend: a class with that interface, one entry in :data:`BACKENDS`, and the name in
``RolloutsConfig.backend``'s ``Literal``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import torch

from rollouts.config import RolloutsConfig
from rollouts.engine import RolloutEngine, RolloutRequest, RolloutStats, SamplingParams
from rollouts.trace import Trace

log = logging.getLogger(__name__)


class Engine(Protocol):
    model: Any
    tokenizer: Any
    params: SamplingParams
    seed: int
    policy: str
    round: int
    stats: RolloutStats

    @property
    def eos_ids(self) -> frozenset[int]: ...

    def render(self, messages: list[dict[str, str]]) -> str: ...

    def generate(self, requests: Sequence[RolloutRequest], num_samples: int | None = None) -> list[Trace]: ...


def _hf(model, tokenizer, params, cfg, *, model_dir, **kwargs) -> Engine:
    return RolloutEngine(model, tokenizer, params, **kwargs)


def _vllm(model, tokenizer, params, cfg, *, model_dir, **kwargs) -> Engine:
    from rollouts.vllm_engine import VLLMEngine

    return VLLMEngine(shared_vllm_runtime(model, tokenizer, cfg, model_dir=model_dir, seed=kwargs.get("seed", 0)),
                      model, tokenizer, params, **kwargs)


#: backend name -> engine builder
BACKENDS: dict[str, Callable[..., Engine]] = {"hf": _hf, "vllm": _vllm}


def build_engine(model, tokenizer, params: SamplingParams, cfg: RolloutsConfig, *, model_dir: str | None = None,
                 seed: int = 0, policy: str = "base", round: int = 0, progress: bool | None = None,
                 stats: RolloutStats | None = None) -> Engine:
    """An engine of backend ``cfg.backend`` sampling from ``model``, whose weights ``policy`` names.

    ``model_dir``: a directory ``from_pretrained`` reads the model's config and tokenizer from
    (vLLM starts from it; None: saved to a temporary directory once).
    """
    return BACKENDS[cfg.backend](model, tokenizer, params, cfg, model_dir=model_dir, seed=seed, policy=policy,
                                 round=round, progress=progress, stats=stats)


_runtime: tuple[str, Any] | None = None  # (key, VLLMRuntime): this process's one vLLM engine


def _base_model(model: torch.nn.Module) -> torch.nn.Module:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def shared_vllm_runtime(model, tokenizer, cfg: RolloutsConfig, *, model_dir: str | None, seed: int = 0):
    """This process's vLLM runtime for ``model``'s architecture, started on first use and kept.

    Kept across calls and rounds (a start costs seconds, a weight sync well under one); replaced
    only when the architecture, dtype or ``rollouts`` options change (the old one is closed first).
    """
    global _runtime
    from rollouts.vllm_engine import ColocatedRuntime
    from rollouts.vllm_server import ServerRuntime

    base = _base_model(model)
    param = next(base.parameters())
    on_cpu = param.device.type == "cpu"
    # Not the directory: it only seeds the engine's config and tokenizer; weights are synced anyway.
    identity = {"config": base.config.to_json_string(use_diff=False), "dtype": str(param.dtype), "cpu": on_cpu,
                "rollouts": repr(cfg)}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    if _runtime is not None and _runtime[0] == key:
        return _runtime[1]
    close_shared_runtime()
    if cfg.mode == "server":
        runtime = ServerRuntime(cfg, on_cpu=on_cpu)
    else:
        # A checkpoint directory can be pruned while its policy lives on (the loop keeps
        # train.keep_checkpoints): start from a copy of the config and tokenizer then.
        if model_dir is None or not (Path(model_dir) / "config.json").exists():
            model_dir = tempfile.mkdtemp(prefix="selfimprove-vllm-model-")
            base.save_pretrained(model_dir)
            tokenizer.save_pretrained(model_dir)
        runtime = ColocatedRuntime(model_dir, cfg, dtype=param.dtype, on_cpu=on_cpu, seed=seed)
    _runtime = (key, runtime)
    return runtime


def close_shared_runtime() -> None:
    """Shut this process's vLLM runtime down (frees its memory); the next vLLM engine starts a new one."""
    global _runtime
    if _runtime is not None:
        _runtime[1].close()
        _runtime = None
