"""The throwaway SLURM cluster the sbatch tests submit to (tests/launch/slurm_cluster.py)."""

from __future__ import annotations

import os

import pytest

from tests.launch.slurm_cluster import local_cluster, unavailable_reason


@pytest.fixture
def cluster():
    """A one-node cluster's client environment (``SLURM_CONF``, ``PATH``). Skips, saying why, when
    not root or without slurm-wlm/munge; under CI (``CI=true``) a root machine without them fails
    instead, since launch/setup.sh installs them."""
    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail(f"SLURM test cannot run in CI: {reason}")
        pytest.skip(reason)
    with local_cluster() as env:
        yield env
