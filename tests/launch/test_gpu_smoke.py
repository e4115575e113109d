"""benchmarks/gpu_smoke.sh in its dry mode: the GPU smoke check's code paths, on CPUs (1 and 2 ranks)."""

import json

from tests.launch.helpers import run


def test_gpu_smoke_dry_run_passes_on_cpus(tmp_path):
    run(["bash", "benchmarks/gpu_smoke.sh", "--dry", "--out", str(tmp_path)], tmp_path / "smoke.log")
    for ranks in (1, 2):
        smoke = json.loads((tmp_path / f"ranks-{ranks}" / "smoke.json").read_text())
        assert smoke["ok"] and smoke["world_size"] == ranks
        assert len(smoke["run_dirs"]) == 1  # no run.name: rank 0 named it for every rank
        assert [(c["rank"], c["strategy"]) for c in smoke["checks"]] == [
            (r, s) for r in range(ranks) for s in ("rft", "grpo")]
        assert all(c["on_own_device"] and c["master_weights_fp32"] and c["configured_steps"] for c in smoke["checks"])
        assert [c["steps"] for c in smoke["checks"] if c["strategy"] == "grpo"] == [2] * ranks
        assert smoke["store"]["all_ranks_rollouts"]
        assert [t["round"] for t in smoke["throughput"]] == [1, 2]
