"""Values that cannot work fail when the config loads, each naming the key and the fix."""

import pytest

from selfimprove import config_checks
from selfimprove.cli import main
from selfimprove.config import Config, ConfigError, load_config


@pytest.mark.parametrize("override, expected", [
    ("train.rft.learning_rate=.inf", "'train.rft.learning_rate' must be a finite number, got inf; AdamW"),
    ("train.rft.learning_rate=.nan", "'train.rft.learning_rate' must be a finite number, got nan"),
    ("train.rft.learning_rate=0", "'train.rft.learning_rate' must be > 0, got 0.0; AdamW fine-tuning rates"),
    ("train.grpo.learning_rate=-1e-6", "'train.grpo.learning_rate' must be > 0, got -1e-06"),
    ("train.rft.batch_size=-1", "'train.rft.batch_size' must be >= 1, got -1; the sequences per optimizer step"),
    ("train.grpo.num_generations=1", "'train.grpo.num_generations' must be >= 2, got 1; GRPO's advantage"),
    ("train.grpo.steps_per_round=0", "'train.grpo.steps_per_round' must be >= 1, got 0"),
    ("train.time_budget_minutes=.inf", "'train.time_budget_minutes' must be a finite number, got inf; null for no limit"),
    ("verifier.deadline_s=0", "'verifier.deadline_s' must be > 0, got 0.0"),
    ("eval.ks=[0, 1]", "'eval.ks' must be a list of k >= 1, got [0, 1]"),
])
def test_value_that_cannot_work_names_the_key_and_the_fix(override, expected):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert str(err.value).startswith(f"config error in <defaults>: {expected}")


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["train.rft.batch_size=0", "train.rft.learning_rate=.nan", "train.grpo.num_generations=0"])
    assert len(err.value.problems) == 3  # a NaN rate is reported once, as not finite


def test_every_rule_names_a_key_of_the_schema():
    defaults = Config()
    for key, test, _, _ in config_checks.RULES:
        value = config_checks._get(defaults, key)  # raises on a key that was renamed or moved
        assert value is None or test(value), f"the default of {key} fails its own rule"


def test_cli_refuses_before_the_run_starts(tmp_path, capsys, monkeypatch):
    import selfimprove.train.loop

    def no_run(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(selfimprove.train.loop, "run_train", no_run)
    rc = main(["train", "--set", "model.name=tiny-random", "--set", f"run.output_dir={tmp_path}", "--set", "run.name=x",
               "--set", "train.rft.learning_rate=.inf"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "'train.rft.learning_rate' must be a finite number" in err[0]
    assert not (tmp_path / "x").exists()
