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
from tests.rollouts.ranks import run_ranks  # noqa: E402
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
                                     server_timeout_s=600, sync_dir=str(tmp_path_factory.mktemp("sync"))), log
    finally:
        close_shared_runtime()
        proc.terminate()
        proc.wait(60)


def test_server_samples_like_hf_before_and_after_a_file_sync(server):
    from rollouts.backends import build_engine
    from rollouts.engine import RolloutEngine

    loaded, cfg, _ = server

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


def _sync_and_sample_on_rank(rank: int, cfg: RolloutsConfig) -> list[tuple[list[int], list[int], list[float], list[float]]]:
    from rollouts.backends import build_engine
    from rollouts.engine import RolloutEngine

    loaded = load_model(BUILTIN_SMOLLM2, device="cpu")
    update(loaded.model, seed=3)  # the same step on every rank, as data-parallel training keeps them
    v = build_engine(loaded.model, loaded.tokenizer, GREEDY, cfg, policy="ranks-update").generate(requests())
    h = RolloutEngine(loaded.model, loaded.tokenizer, GREEDY, progress=False).generate(requests())
    close_shared_runtime()
    return [(a.completion_ids, b.completion_ids, a.logprobs, b.logprobs) for a, b in zip(v, h)]


def test_two_ranks_share_one_server_and_only_the_main_process_pushes(server):
    """Last (its ranks leave the server on their weights). One sync of 2 ranks reaches the server
    as one push (what one rank's sync costs, measured first), and both ranks sample from it."""
    from rollouts.backends import build_engine

    loaded, cfg, log = server

    def pushes() -> int:
        return log.read_text().count("POST /collective_rpc")

    start = pushes()
    update(loaded.model, seed=2)
    build_engine(loaded.model, loaded.tokenizer, GREEDY, cfg, policy="update-2").generate(requests(1))
    one_push = pushes() - start
    assert one_push > 0
    start = pushes()
    ranks = run_ranks(_sync_and_sample_on_rank, 2, cfg, timeout=1200)
    assert pushes() - start == one_push
    for rank in ranks:
        for vllm_ids, hf_ids, vllm_logprobs, hf_logprobs in rank:
            assert vllm_ids == hf_ids
            assert vllm_logprobs == pytest.approx(hf_logprobs, abs=LOGPROB_TOL)
