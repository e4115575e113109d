"""Which engine generates rollouts: the ``rollouts`` section of the run config.

The one definition (as :class:`rollouts.engine.SamplingParams` is the ``sampling`` section):
``selfimprove.config.Config.rollouts`` is this class, so each default and help text lives here
only. Sampling parameters (temperature, top-p, lengths) stay in ``sampling`` and mean the same
for both backends; this section says *where* sampling runs. :func:`rollouts.backends.build_engine`
reads it.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from rollouts.fields import field as _field


@dataclasses.dataclass
class RolloutsConfig:
    backend: Literal["hf", "vllm"] = _field(
        "hf", help="'hf': transformers generate() in the training process (the CPU default). 'vllm': a vLLM engine "
        "(continuous batching), one per rank, weights synced in place after every update; needs vLLM installed "
        "(pip install 'selfimprove[vllm]' on GPUs; bash launch/setup_vllm.sh builds the CPU environment)."
    )
    mode: Literal["colocate", "server"] = _field(
        "colocate", help="vllm: 'colocate' runs the engine inside each training process; 'server' sends requests to "
        "a vLLM server on its own GPUs (rollouts.server_url), started with `python -m rollouts.vllm_server --model "
        "DIR` (not `trl vllm-serve` or `vllm serve`: they lack the weight-sync extension and logprobs mode). One "
        "server serves every rank; the main training process alone pushes the weights."
    )
    gpu_memory_utilization: float = _field(
        0.3, help="vllm colocate on GPU: share of each GPU's memory the engine may take (weights + KV cache); the "
        "trainer needs the rest."
    )
    cpu_kv_cache_gib: float = _field(
        1.0, help="vllm on CPU: KV cache size in whole GiB (VLLM_CPU_KVCACHE_SPACE); unset, vLLM reserves most of the "
        "RAM."
    )
    enforce_eager: bool | None = _field(
        None, help="vllm: skip graph capture / compilation. None = eager on CPU (compiling takes minutes at every "
        "start there), compiled on GPU."
    )
    sleep_mode: bool = _field(
        False, help="vllm colocate on GPU: release the engine's weights and KV cache while the trainer runs (vLLM "
        "sleep level 2) and re-load them on the next sampling call; weights are synced then anyway."
    )
    max_model_len: int | None = _field(
        None, help="vllm: longest prompt + completion in tokens; None = the model's own limit (smaller saves KV cache)."
    )
    server_url: str | None = _field(
        None, help="vllm server mode: base URL of the server, e.g. http://node0:8000 (required with mode=server)."
    )
    server_timeout_s: float = _field(240.0, help="vllm server mode: how long to wait for the server to answer /health.")
    weight_sync: Literal["auto", "nccl", "file"] = _field(
        "auto", help="vllm server mode: how the main training process (global rank 0) sends updated weights to the "
        "server. 'nccl': TRL's VLLMClient NCCL broadcast (CUDA on both sides); 'file': safetensors in "
        "rollouts.sync_dir, loaded by the server's reload_weights (any device); 'auto': nccl on CUDA, else file."
    )
    sync_dir: str = _field(
        "/dev/shm", help="vllm server mode, weight_sync=file: where global rank 0 writes the weights for the server "
        "to read. /dev/shm (memory, node-local) works when the server runs on rank 0's node; with the server on "
        "another node, set a directory on a filesystem both nodes mount."
    )

    def __post_init__(self) -> None:
        if self.backend == "vllm" and self.mode == "server" and not self.server_url:
            raise ValueError("mode=server needs server_url (the vLLM server's base URL, e.g. http://localhost:8000)")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}")
        if self.cpu_kv_cache_gib <= 0 or self.cpu_kv_cache_gib != int(self.cpu_kv_cache_gib):
            raise ValueError(f"cpu_kv_cache_gib must be a whole number of GiB > 0 (vLLM reads VLLM_CPU_KVCACHE_SPACE "
                             f"as an integer), got {self.cpu_kv_cache_gib}")
