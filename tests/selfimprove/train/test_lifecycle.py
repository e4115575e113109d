"""Nothing of a round's trainer survives into the next round (it held the optimizer state,
the accelerator's engine and, under DeepSpeed, the partitioned model)."""

import gc
import weakref

from selfimprove.config import load_config
from selfimprove.train.loop import run_train
from selfimprove.train.strategies import grpo, rft
from tests.support import tiny_overrides


def test_no_trainer_outlives_its_round(tmp_path, monkeypatch):
    trainers: list[weakref.ref] = []
    alive_at_start: list[int] = []

    for module in (rft, grpo):
        original = module.train_quietly

        def recording(trainer, *args, _original=original, **kwargs):
            alive_at_start.append(sum(ref() is not None for ref in trainers))  # no gc.collect(): the loop's job
            trainers.append(weakref.ref(trainer))
            return _original(trainer, *args, **kwargs)

        monkeypatch.setattr(module, "train_quietly", recording)
    cfg = load_config(None, tiny_overrides(tmp_path, "life", **{
        "train.rounds": 3, "train.schedule": "[rft, grpo, rft]", "train.prompts_per_round": 8,
        "train.rft.epochs": 1, "train.grpo.steps_per_round": 1, "train.eval_every": 3}))
    run_train(cfg, quiet=True)
    assert len(trainers) == 3 and alive_at_start == [0, 0, 0]
    gc.collect()
    assert all(ref() is None for ref in trainers)
