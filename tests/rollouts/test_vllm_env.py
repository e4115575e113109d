"""The slow vLLM set from the default environment: build the CPU vLLM environment
(launch/setup_vllm.sh, idempotent: minutes the first time, seconds after), then run the vLLM tests
in it. Skipped when this interpreter already has vLLM (those tests then run here directly).

    .venv/bin/python -m pytest -m slow tests/rollouts/test_vllm_env.py
"""

from __future__ import annotations

import importlib.util
import os
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")]

VLLM_TESTS = ["tests/rollouts/test_vllm_engine.py", "tests/rollouts/test_vllm_server.py",
              "tests/rollouts/test_vllm_colocate_ranks.py", "tests/selfimprove/test_vllm_train.py"]


def test_vllm_set_in_the_cpu_vllm_environment():
    venv = os.environ.get("SELFIMPROVE_VLLM_VENV", str(REPO / ".venv-vllm"))
    built = subprocess.run(["bash", "launch/setup_vllm.sh"], cwd=REPO, capture_output=True, text=True, timeout=3600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    done = subprocess.run([f"{venv}/bin/python", "-m", "pytest", "-q", "-m", "slow", "-p", "no:cacheprovider",
                           *VLLM_TESTS], cwd=REPO, capture_output=True, text=True, timeout=5400)
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout.splitlines()[-1], done.stdout[-1000:]
