"""The report's headline data and its number, time and duration conventions."""

import pytest

from selfimprove.run_summary import duration, key_settings, num, phase_times, when


@pytest.mark.parametrize("value, text", [(0.225, "0.225"), (0.03125, "0.0312"), (0.5, "0.500"), (12.0, "12.0"),
                                         (123.4, "123"), (0.6443750001, "0.644"), (1796650944.68, "1,796,650,945"),
                                         (6, "6"), (True, "True"), ("rft", "rft"), (2e-05, "2.00e-05")])
def test_numbers_have_three_significant_digits(value, text):
    assert num(value) == text


def test_durations_and_dates_read_as_such():
    assert [duration(s) for s in (42.4, 672.0, 6130.0)] == ["42 s", "11 min 12 s", "1 h 42 min"]
    assert when(0) == "1970-01-01 00:00 UTC"


def test_phase_times_are_phase_totals_per_round():
    rows = [{"round": 0, "time/eval_s": 4.0, "time/eval_generate_s": 3.9, "time/eval_verify_s": 0.1},
            {"round": 1, "time/generate_s": 10.0, "time/generate_generate_s": 9.0, "time/generate_verify_s": 1.0},
            {"round": 1, "time/train_s": 20.0, "train/loss": 0.5}, {"round": 1, "time/eval_s": 4.0},
            {"time/generate_s": 1.0}]  # no round: not part of any round
    assert phase_times(rows) == {0: {"eval": 4.0}, 1: {"generate": 10.0, "train": 20.0, "eval": 4.0}}


def test_key_settings_name_what_sets_runs_apart():
    config = {"model": {"name": "m"}, "task": {"name": "arithmetic", "ops": ["+", "*"], "digits": 1},
              "verifier": {"name": "math"}, "sampling": {"temperature": 0.7, "max_new_tokens": 64, "num_samples": 4},
              "train": {"schedule": ["rft", "grpo"], "reward": "shuffled", "rft": {"learning_rate": 5e-05},
                        "grpo": {"learning_rate": 1e-06}, "lora": {"enabled": False}, "deepspeed": None},
              "rollouts": {"backend": "hf"}, "run": {"seed": 0}}
    assert dict(key_settings(config)) == {
        "model": "m", "task": "arithmetic + *, 1-digit", "verifier": "math", "schedule": "[rft, grpo]",
        "sampling": "T 0.7, 64 new tokens, 4 per held-out problem", "rft learning rate": "5e-05",
        "grpo learning rate": "1e-06", "train reward (a control)": "shuffled", "seed": "0"}
