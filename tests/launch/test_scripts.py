"""The launch scripts' usage text and preflight checks (fast: nothing is trained here)."""

from __future__ import annotations

import subprocess

import pytest

from tests.launch.helpers import REPO

SCRIPTS = ["launch/torchrun.sh", "launch/slurm/train.sbatch", "launch/slurm/submit.sh"]


def sh(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    return subprocess.run(["bash", *args], cwd=REPO, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("script", SCRIPTS)
def test_syntax_and_help(script):
    assert sh("-n", script).returncode == 0
    done = sh(script, "--help")
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower() or script.rsplit("/", 1)[-1] in done.stdout
    assert "#SBATCH" not in done.stdout and "set -euo" not in done.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_cluster_specifics_baked_in(script):
    text = (REPO / script).read_text()
    for directive in ("--partition", "--account", "--time"):
        assert f"#SBATCH {directive}" not in text
    assert "/home/" not in text and "/scratch" not in text


def test_torchrun_rejects_bad_nproc():
    done = sh("launch/torchrun.sh", "--nproc", "zero")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "torchrun.sh: error: --nproc must be a positive integer, got 'zero'"


def test_sbatch_script_outside_slurm_says_how_to_submit():
    done = sh("launch/slurm/train.sbatch")
    assert done.returncode == 2
    assert "not inside a SLURM job" in done.stderr and "sbatch" in done.stderr


def test_sbatch_script_rejects_a_wrong_repository(tmp_path):
    done = sh("launch/slurm/train.sbatch", env={"SLURM_JOB_ID": "7", "SELFIMPROVE_REPO": str(tmp_path),
                                                 "PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert done.returncode == 2
    # Either SLURM's tools are absent here, or the repository check fires: both name the fix.
    assert "is this a SLURM node" in done.stderr or "not the selfimprove repository" in done.stderr


def test_submit_dry_run_passes_flags_to_sbatch(tmp_path):
    fake = tmp_path / "sbatch"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    done = sh("launch/slurm/submit.sh", "--dry-run", "--nodes", "2", "--gpus-per-node", "8", "--partition", "p1",
              "--account", "a1", "--time", "01:00:00", "--", "--nproc-per-node", "8",
              env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    cmd = done.stdout.split()
    assert cmd[0] == "sbatch" and "launch/slurm/train.sbatch" in cmd
    for flag in ("--nodes=2", "--gpus-per-node=8", "--partition=p1", "--account=a1", "--time=01:00:00"):
        assert flag in cmd
    assert cmd[-2:] == ["--nproc-per-node", "8"]


def test_submit_without_sbatch_fails_clearly(tmp_path):
    import shutil

    for tool in ("dirname", "sed"):  # a PATH with what the script needs before its check, and no sbatch
        (tmp_path / tool).symlink_to(shutil.which(tool))
    done = subprocess.run([shutil.which("bash"), "launch/slurm/submit.sh"], cwd=REPO, env={"PATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "submit.sh: error: sbatch not found: run this on a SLURM login node (or install slurm-client)"
