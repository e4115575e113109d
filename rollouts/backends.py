"""Build the rollout engine a ``rollouts`` config section asks for.

:func:`build_engine` is the one place an engine is made (``selfimprove.sampling`` for eval and
every sampling phase, GRPO's ``rollout_func``). Every engine is a
:class:`rollouts.engine_base.EngineBase`: ``generate(requests, num_samples) -> list[Trace]``, and
``model``, ``tokenizer``, ``params``, ``seed``, ``policy``, ``round``, ``stats``, ``render``,
``eos_ids``. An engine is cheap and made per call; what is expensive (a vLLM engine) lives in a
per-process runtime that :func:`build_engine` keeps across calls and rounds, and that syncs its
weights from the engine's ``model`` whenever the engine's ``policy`` names other weights.

Adding a backend: an ``EngineBase`` subclass, one entry in :data:`BACKENDS`, and the name in
``RolloutsConfig.backend``'s ``Literal``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from rollouts.config import RolloutsConfig
from rollouts.engine import RolloutEngine, RolloutStats, SamplingParams
from rollouts.engine_base import EngineBase

log = logging.getLogger(__name__)


Engine = EngineBase  # what build_engine returns: every backend subclasses it


def _hf(model, tokenizer, params, cfg, *, model_dir, dtype, **kwargs) -> Engine:
    return RolloutEngine(model, tokenizer, params, compute_dtype=dtype, **kwargs)


def _vllm(model, tokenizer, params, cfg, *, model_dir, dtype, **kwargs) -> Engine:
    from rollouts.vllm_engine import VLLMEngine

    return VLLMEngine(shared_vllm_runtime(model, tokenizer, cfg, model_dir=model_dir, seed=kwargs.get("seed", 0),
                                          dtype=dtype),
                      model, tokenizer, params, **kwargs)


#: backend name -> engine builder
BACKENDS: dict[str, Callable[..., Engine]] = {"hf": _hf, "vllm": _vllm}


def build_engine(model, tokenizer, params: SamplingParams, cfg: RolloutsConfig, *, model_dir: str | None = None,
                 seed: int = 0, policy: str = "base", round: int = 0, progress: bool | None = None,
                 stats: RolloutStats | None = None, dtype: torch.dtype | None = None) -> Engine:
    """An engine of backend ``cfg.backend`` sampling from ``model``, whose weights ``policy`` names.

    ``model_dir``: a directory ``from_pretrained`` reads the model's config and tokenizer from
    (vLLM starts from it; None: saved to a temporary directory once). ``dtype``: the dtype to
    compute in when it is not the weights' (a policy with float32 master weights samples in
    bfloat16: autocast for ``hf``, the engine's dtype for ``vllm``); None: the weights' dtype.
    """
    return BACKENDS[cfg.backend](model, tokenizer, params, cfg, model_dir=model_dir, seed=seed, policy=policy,
                                 round=round, progress=progress, stats=stats, dtype=dtype)


@dataclasses.dataclass
class _Shared:
    identity: dict[str, Any]  # what decided the engine (see _engine_identity)
    runtime: Any  # VLLMRuntime
    copy: tempfile.TemporaryDirectory | None  # the policy copy the engine started from, removed with it


_shared: _Shared | None = None  # this process's one vLLM engine

#: Config entries that do not change the engine vLLM builds: switches a transformers Trainer
#: flips on the model it trains (``use_cache = False``), what ``save_pretrained`` fills in
#: (``architectures``: the model class is keyed instead; ``dtype``: the parameters' is), and output
#: options. Anything else that changes (layers, sizes, rope, vocabulary, tying) starts a new engine.
_NOT_THE_ENGINE = frozenset({"use_cache", "architectures", "dtype", "torch_dtype", "_name_or_path",
                             "transformers_version", "output_attentions", "output_hidden_states", "return_dict"})


def _base_model(model: torch.nn.Module) -> torch.nn.Module:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _engine_identity(base: torch.nn.Module, cfg: RolloutsConfig, dtype: torch.dtype | None = None) -> dict[str, Any]:
    """What decides the engine: the architecture, the dtype it computes in (``dtype``, else the
    weights'), the device, the ``rollouts`` options.

    Not the directory: it only seeds the engine's config and tokenizer; weights are synced anyway.
    """
    param = next(base.parameters())
    config = {k: v for k, v in base.config.to_dict().items() if k not in _NOT_THE_ENGINE}
    return {"class": type(base).__name__, "config": json.dumps(config, sort_keys=True, default=str),
            "dtype": str(dtype or param.dtype), "cpu": param.device.type == "cpu", "rollouts": repr(cfg)}


def _policy_copy(model: torch.nn.Module, tokenizer) -> tempfile.TemporaryDirectory:
    """A directory vLLM can start from, written by this rank: ``model``'s config, generation config,
    weights (checkpoint names, LoRA merged) and ``tokenizer``.

    Every rank starts its own engine, so every rank writes its own copy (in the system's temporary
    directory, the size of the weights). Not ``save_pretrained``: once torch.distributed is up it
    writes the config and weights on global rank 0 only, and another rank's engine found an empty
    directory.
    """
    from safetensors.torch import save_file

    from rollouts.weights import checkpoint_weights

    base = _base_model(model)
    copy = tempfile.TemporaryDirectory(prefix="selfimprove-vllm-model-")
    base.config.save_pretrained(copy.name)
    if base.generation_config is not None:
        base.generation_config.save_pretrained(copy.name)
    tokenizer.save_pretrained(copy.name)
    with checkpoint_weights(model) as weights:
        save_file({name: t.contiguous().cpu() for name, t in weights}, str(Path(copy.name) / "model.safetensors"),
                  metadata={"format": "pt"})
    return copy


def shared_vllm_runtime(model, tokenizer, cfg: RolloutsConfig, *, model_dir: str | None, seed: int = 0,
                        dtype: torch.dtype | None = None):
    """This process's vLLM runtime for ``model``'s architecture, started on first use and kept.

    Kept across calls and rounds (a start costs seconds, a weight sync well under one), and across
    trainers (which flip runtime switches such as ``use_cache`` on the model's config); replaced
    only when what decides the engine changes (:func:`_engine_identity`; the old one is shut down
    first, its memory freed).
    """
    global _shared
    from rollouts.vllm_engine import ColocatedRuntime
    from rollouts.vllm_server import ServerRuntime

    base = _base_model(model)
    identity = _engine_identity(base, cfg, dtype)
    if _shared is not None and _shared.identity == identity:
        return _shared.runtime
    if _shared is not None:
        changed = sorted(k for k in identity if identity[k] != _shared.identity[k])
        log.info("vllm: starting a new engine (%s changed)", ", ".join(changed))
    close_shared_runtime()
    copy = None
    if cfg.mode == "server":
        runtime = ServerRuntime(cfg, on_cpu=identity["cpu"])
    else:
        # No directory of its own (a hub id, an in-memory model), or a checkpoint directory pruned
        # while its policy lives on (the loop keeps train.keep_checkpoints): start from a copy.
        if model_dir is None or not (Path(model_dir) / "config.json").exists():
            copy = _policy_copy(model, tokenizer)
            model_dir = copy.name
        try:
            runtime = ColocatedRuntime(model_dir, cfg, dtype=dtype or next(base.parameters()).dtype,
                                       on_cpu=identity["cpu"], seed=seed)
        except Exception:
            if copy is not None:
                copy.cleanup()
            raise
    _shared = _Shared(identity, runtime, copy)
    return runtime


def close_shared_runtime() -> None:
    """Shut this process's vLLM runtime down (frees its memory); the next vLLM engine starts a new one."""
    global _shared
    if _shared is not None:
        shared, _shared = _shared, None
        shared.runtime.close()
        if shared.copy is not None:
            shared.copy.cleanup()
