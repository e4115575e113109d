"""Seeded integration test: the loop really raises reward on a toy task (tiny random model).

Toy task: arithmetic prompts graded by "the completion starts with a digit" (tests/.../toy.py).
A random byte-level model does that ~4% of the time; rejection-sampling fine-tuning on those
hits must make them more frequent both on the train prompts and on held-out prompts.
"""

import json

from selfimprove.config import load_config
from selfimprove.train.loop import run_train
from tests.support import tiny_overrides


def test_rft_rounds_raise_reward(tmp_path, capsys):
    cfg = load_config(None, tiny_overrides(tmp_path, "up", **{"train.rounds": 2, "train.peak_tflops": 0.05}))
    history = run_train(cfg)
    lines = [json.loads(line) for line in (tmp_path / "up" / "metrics.jsonl").read_text().splitlines()]
    reward = [m["generate/reward_mean"] for m in lines if "generate/reward_mean" in m]
    assert len(reward) == 2 and reward[-1] > 2 * reward[0], reward
    assert history[-1]["pass@1"] > history[0]["pass@1"] + 0.1, [h["pass@1"] for h in history]
    steps = [m["step"] for m in lines]
    assert steps == sorted(steps) and steps[-1] > 0

    # Throughput every round: where the time went, tokens/s, and an MFU estimate (peak given on a CPU).
    rounds = [m for m in lines if "throughput/fraction_train" in m]
    assert [m["round"] for m in rounds] == [1, 2]
    for m in rounds:
        fractions = [m[f"throughput/fraction_{p}"] for p in ("generate", "verify", "train", "eval", "other")]
        assert abs(sum(fractions) - 1) < 1e-9 and min(fractions) >= 0
        assert m["throughput/generate_tokens_per_s"] > 0 and m["throughput/train_tokens_per_s"] > 0
        assert 0 < m["throughput/mfu"] < 1

    # The console: one line per phase, no raw trainer dicts; those go to train.log.
    out = capsys.readouterr().out
    for phase in ("generate", "train", "eval"):
        assert sum(line.startswith(f"round 2/2  {phase} ") for line in out.splitlines()) == 1, out
    assert "{'loss'" not in out and "grad_norm" not in out
    assert '"loss"' in (tmp_path / "up" / "train.log").read_text()


def test_eval_every_skips_rounds_but_always_evaluates_the_last(tmp_path):
    cfg = load_config(None, tiny_overrides(tmp_path, "every", **{
        "train.rounds": 3, "train.eval_every": 2, "train.prompts_per_round": 8, "train.rft.epochs": 1}))
    history = run_train(cfg, quiet=True)
    assert [h["round"] for h in history] == [0, 2, 3]
    state = json.loads((tmp_path / "every" / "state.json").read_text())
    assert state["rounds_done"] == 3 and "1:eval" in state["completed"]
