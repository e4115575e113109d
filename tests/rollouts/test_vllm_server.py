"""Server mode on CPU: ``python -m rollouts.vllm_server`` started here, sampled through TRL's
VLLMClient, weights synced through a shared directory (slow; needs vLLM: bash launch/setup_vllm.sh,
then .venv-vllm/bin/python -m pytest -m slow tests/rollouts/test_vllm_server.py).

Not covered here: the NCCL weight sync (CUDA on both sides), exercised only on a GPU machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

pytest.importorskip("vllm")
pytestmark = pytest.mark.slow

from rollouts.backends import close_shared_runtime  # noqa: E402
from rollouts.config import RolloutsConfig  # noqa: E402
from selfimprove.models import BUILTIN_SMOLLM2, load_model  # noqa: E402
from tests.rollouts.test_vllm_engine import GREEDY, LOGPROB_TOL, requests, update, with_own_head  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Started from a checkpoint with lm_head.weight, the server's head is a tensor of its own (test_vllm_engine)
    loaded = with_own_head(load_model(BUILTIN_SMOLLM2, device="cpu"), tmp_path_factory.mktemp("smol"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rollouts.vllm_server", "--model", loaded.path, "--port",
                                 str(port), "--dtype", "float32", "--max-model-len", "1024"],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    try:
        yield loaded, RolloutsConfig(backend="vllm", mode="server", server_url=f"http://127.0.0.1:{port}",
                                     server_timeout_s=600, sync_dir=str(tmp_path_factory.mktemp("sync")))
    finally:
        close_shared_runtime()
        proc.terminate()
        proc.wait(60)


def test_server_samples_like_hf_before_and_after_a_file_sync(server):
    from rollouts.backends import build_engine
    from rollouts.engine import RolloutEngine

    loaded, cfg = server

    def assert_parity(policy):
        v = build_engine(loaded.model, loaded.tokenizer, GREEDY, cfg, policy=policy).generate(requests())
        h = RolloutEngine(loaded.model, loaded.tokenizer, GREEDY, progress=False).generate(requests())
        assert [t.completion_ids for t in v] == [t.completion_ids for t in h]
        for a, b in zip(v, h):
            assert a.logprobs == pytest.approx(b.logprobs, abs=LOGPROB_TOL)
            assert a.finish_reason == b.finish_reason and a.policy == policy

    assert_parity("base")
    update(loaded.model, seed=1)
    assert_parity("update-1")  # the head sent under its own name too, or it stays on the base weights
