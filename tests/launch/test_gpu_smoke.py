"""benchmarks/gpu_smoke.sh in its dry mode: the GPU smoke check's code paths, on CPUs (1 and 2 ranks)."""

import json

from tests.launch.helpers import run


def test_gpu_smoke_dry_run_passes_on_cpus(tmp_path):
    run(["bash", "benchmarks/gpu_smoke.sh", "--dry", "--out", str(tmp_path)], tmp_path / "smoke.log")
    for ranks in (1, 2):
        smoke = json.loads((tmp_path / f"ranks-{ranks}" / "smoke.json").read_text())
        assert smoke["ok"] and smoke["world_size"] == ranks
        assert [c["strategy"] for c in smoke["checks"]] == ["rft", "grpo"]
        assert all(c["on_own_device"] and c["training_dtype"] for c in smoke["checks"])
        assert [t["round"] for t in smoke["throughput"]] == [1, 2]
