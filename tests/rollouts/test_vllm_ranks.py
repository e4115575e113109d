"""The vLLM backend's per-rank set-up on 2 gloo ranks, without vLLM (the default environment).

vLLM is faked at its edge: the colocated engine by a recorder of the directory it would start
from, the server by a recorder of what the client sends. The same paths with real vLLM:
``tests/rollouts/test_vllm_colocate_ranks.py`` and ``tests/rollouts/test_vllm_server.py`` (slow).
"""

from __future__ import annotations

import os
import time
import types
from pathlib import Path

import pytest

from tests.rollouts.ranks import run_ranks


class DirRecorder:
    """Stands in for ColocatedRuntime: loads the model back from the directory vLLM would start from."""

    def __init__(self, model_dir, cfg, *, dtype, on_cpu, seed):
        self.model_dir = model_dir
        self.files = sorted(os.listdir(model_dir))
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            self.reloaded = AutoModelForCausalLM.from_pretrained(model_dir)
            self.vocab = len(AutoTokenizer.from_pretrained(model_dir))
            self.error = None
        except (OSError, ValueError) as exc:
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"

    def close(self):
        pass


def _engine_dir_on_rank(rank: int) -> dict:
    import torch

    import rollouts.vllm_engine
    from rollouts.backends import close_shared_runtime, shared_vllm_runtime
    from rollouts.config import RolloutsConfig
    from selfimprove.models import load_model

    rollouts.vllm_engine.ColocatedRuntime = DirRecorder
    loaded = load_model("tiny-random", device="cpu")  # path None: started from a temporary copy, as a hub id is
    runtime = shared_vllm_runtime(loaded.model, loaded.tokenizer, RolloutsConfig(backend="vllm"), model_dir=None)
    out = {"files": runtime.files, "error": runtime.error}
    if runtime.error is None:
        want = loaded.model.state_dict()
        out["max_diff"] = max(float((t - want[k]).abs().max()) for k, t in runtime.reloaded.state_dict().items())
        out["vocab"] = (runtime.vocab, len(loaded.tokenizer))
    close_shared_runtime()
    out["removed"] = not Path(runtime.model_dir).exists()
    assert torch.distributed.get_world_size() == 2
    return out


def test_every_rank_starts_its_engine_from_a_complete_copy_of_the_policy():
    """transformers' save_pretrained writes on global rank 0 only once torch.distributed is up;
    every rank starts its own engine and needs the config, tokenizer and weights."""
    ranks = run_ranks(_engine_dir_on_rank, 2)
    assert [got["error"] for got in ranks] == [None, None], ranks
    for rank, got in enumerate(ranks):
        assert got["max_diff"] == 0.0 and got["vocab"][0] == got["vocab"][1]
        assert got["removed"], f"rank {rank}: the temporary copy outlived its engine"


class FakeClient:
    """Stands in for TRL's VLLMClient and the server behind it: records what a rank sends; the
    server's weight version lives in a file all ranks see. The end of a push (the prefix-cache
    reset) is slow, so a rank that does not wait for the push goes on before it is done."""

    shared: Path

    def __init__(self, base_url, connection_timeout):
        self.base_url = base_url
        self.calls: list[str] = []
        self.polls = 0
        self.session = types.SimpleNamespace(post=self._post, get=self._get)

    @classmethod
    def version(cls) -> str:
        path = cls.shared / "weight_version"
        return path.read_text() if path.exists() else "default"

    def _post(self, url, json):
        endpoint = url.rsplit("/", 1)[-1]
        self.calls.append(f"post {endpoint}")
        if endpoint == "update_weight_version":
            (self.shared / "weight_version").write_text(json["new_version"])
        return types.SimpleNamespace(status_code=200, text="", json=lambda: {})

    def _get(self, url):
        assert url.endswith("/weight_info")
        self.polls += 1
        return types.SimpleNamespace(status_code=200, text="", json=lambda: {"weight_version": self.version()})

    def init_communicator(self, device):
        self.calls.append("init_communicator")

    def update_named_params(self, meta, pairs):
        assert len(list(pairs)) == len(meta)
        self.calls.append("update_named_params")

    def reset_prefix_cache(self):
        self.calls.append("reset_prefix_cache")
        time.sleep(0.5)

    def close_communicator(self):
        self.calls.append("close_communicator")


def _server_sync_on_rank(rank: int, method: str, shared: str) -> dict:
    import torch
    import trl.generation.vllm_client

    import rollouts.vllm_server
    from rollouts.backends import close_shared_runtime, shared_vllm_runtime
    from rollouts.config import RolloutsConfig
    from selfimprove.models import load_model

    rollouts.vllm_server._import_vllm = lambda: None
    trl.generation.vllm_client.VLLMClient = FakeClient
    FakeClient.shared = Path(shared)
    loaded = load_model("tiny-random", device="cpu")
    cfg = RolloutsConfig(backend="vllm", mode="server", server_url="http://127.0.0.1:1", weight_sync=method,
                         sync_dir=str(Path(shared, "sync")))
    runtime = shared_vllm_runtime(loaded.model, loaded.tokenizer, cfg, model_dir=None)
    seen = []
    for identity in ("base", "base", "update-1"):
        runtime.sync(loaded.model, identity)
        seen.append(FakeClient.version())  # what the server held when this rank went on to sample
        # Training keeps ranks within one policy of each other (an update all-reduces gradients
        # of every rank's samples); without it rank 0 could push the next policy first.
        torch.distributed.barrier()
    close_shared_runtime()
    return {"calls": runtime.client.calls, "polls": runtime.client.polls, "seen": seen, "loaded": runtime.loaded}


@pytest.mark.parametrize("method", ["nccl", "file"])
def test_server_weights_are_pushed_by_the_main_process_while_the_others_wait(tmp_path, method):
    """Every rank pushing would open the NCCL group once per rank as its rank 0 on one port (and
    send the full weights world-size times); TRL pushes from the main process only."""
    main, other = run_ranks(_server_sync_on_rank, 2, method, str(tmp_path))
    push = ["update_named_params" if method == "nccl" else "post collective_rpc", "reset_prefix_cache",
            "post update_weight_version"]
    if method == "nccl":  # the group is opened once and closed with the runtime
        assert main["calls"] == ["init_communicator", *push, *push, "close_communicator"]
    else:
        assert main["calls"] == [*push, *push]
    assert other["calls"] == [] and other["polls"] > 0
    assert main["seen"] == other["seen"] == ["base", "base", "update-1"]  # nobody samples before the server holds them
    assert main["loaded"] == other["loaded"] == "update-1"
