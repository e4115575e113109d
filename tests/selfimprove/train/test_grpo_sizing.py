"""A grpo round samples only the prompts its update trains on (steps_per_round x prompts_per_step),
not the rft-sized ``train.prompts_per_round``: the extra groups used to cost generation time and
were never trained on."""

import json

from selfimprove.config import load_config
from selfimprove.train.loop import run_train
from tests.support import tiny_overrides


def _generate_prompts(run_dir) -> list[int]:
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [m["generate/prompts"] for m in lines if "generate/prompts" in m]


def test_grpo_round_samples_what_it_trains_on(tmp_path):
    cfg = load_config(None, tiny_overrides(tmp_path, "g", **{
        "train.rounds": 2, "train.schedule": "[rft, grpo]", "train.prompts_per_round": 12, "train.rft.epochs": 1,
        "train.grpo.steps_per_round": 1, "train.grpo.prompts_per_step": 2, "train.grpo.num_generations": 4,
        "train.grpo.refill_passes": 0, "train.eval_every": 2}))
    run_train(cfg, quiet=True)
    assert _generate_prompts(tmp_path / "g") == [12, 2]  # rft: prompts_per_round; grpo: 1 step x 2 prompts
