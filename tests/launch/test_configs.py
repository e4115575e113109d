"""Every file in configs/deepspeed and configs/accelerate loads and resolves; each DeepSpeed file is run.

The real runs live in tests/selfimprove/test_distributed_training.py and tests/launch/test_slurm.py
(every DeepSpeed file; of the accelerate files, zero3.yaml, whose siblings differ only in the JSON
they point to). Here each file is loaded the way its consumer loads it (transformers for DeepSpeed
JSON, accelerate for YAML), so a typo or a stale key fails in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.launch.helpers import REPO

DEEPSPEED = sorted((REPO / "configs" / "deepspeed").glob("*.json"))
ACCELERATE = sorted((REPO / "configs" / "accelerate").glob("*.yaml"))
RUN_BY = [REPO / "tests" / "selfimprove" / "test_distributed_training.py", REPO / "tests" / "launch" / "test_slurm.py"]


def test_the_expected_files_exist():
    assert [p.stem for p in DEEPSPEED] == ["zero2", "zero3", "zero3_offload"]
    assert [p.stem for p in ACCELERATE] == [p.stem for p in DEEPSPEED]  # one accelerate file per DeepSpeed file


@pytest.mark.parametrize("path", DEEPSPEED, ids=lambda p: p.name)
def test_deepspeed_config_resolves_under_the_trainer(path, tiny, tmp_path):
    from transformers import TrainingArguments

    args = TrainingArguments(output_dir=str(tmp_path), deepspeed=str(path), per_device_train_batch_size=2,
                             report_to=[], use_cpu=True)
    ds = args.hf_deepspeed_config
    ds.trainer_config_finalize(args, tiny.model, num_training_steps=10)
    resolved = json.dumps(ds.config)
    assert '"auto"' not in resolved, f"{path.name}: unresolved 'auto' left: {resolved}"
    stage = ds.config["zero_optimization"]["stage"]
    assert stage == {"zero2": 2, "zero3": 3, "zero3_offload": 3}[path.stem]
    # torch's AdamW: DeepSpeed's CPU/fused Adam need compiled ops, which a DS_BUILD_OPS=0 install lacks.
    assert ds.config["optimizer"]["params"]["torch_adam"] is True
    offload = {k: ds.config["zero_optimization"].get(k, {}).get("device") for k in ("offload_optimizer", "offload_param")}
    assert offload == ({"offload_optimizer": "cpu", "offload_param": "cpu"} if "offload" in path.stem
                       else {"offload_optimizer": None, "offload_param": None})
    if stage == 3:  # trainer.save_model must write consolidated weights, not empty placeholders
        assert ds.config["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_config_loads_and_points_at_its_deepspeed_file(path):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(path))
    assert config.distributed_type == "DEEPSPEED"
    ds_file = Path(config.deepspeed_config["deepspeed_config_file"])
    assert ds_file == Path("configs/deepspeed") / f"{path.stem}.json"  # relative: launch from the repo root
    assert (REPO / ds_file).exists()
    assert config.deepspeed_config["zero3_init_flag"] == path.stem.startswith("zero3")


@pytest.mark.parametrize("path", DEEPSPEED + [p for p in ACCELERATE if p.stem == "zero3"], ids=lambda p: p.name)
def test_every_config_is_run_for_real_by_a_test(path):
    """A config no launch test names is a config that can go stale unnoticed."""
    needle = f"configs/{path.parent.name}/{path.name}"
    assert any(needle in test.read_text() for test in RUN_BY), f"no real-run test uses {needle}"
