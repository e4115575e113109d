from pathlib import Path

import pytest

from selfimprove import configio
from selfimprove.config import Config, ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
RUN_CONFIGS = sorted(p for p in (REPO / "configs").glob("*.yaml"))


def test_defaults_and_overrides():
    cfg = load_config(None, ["sampling.temperature=0.3", "task.ops=['+', '*']", "verifier.options={rel_tol: 0.01}"])
    assert cfg.sampling.temperature == 0.3
    assert cfg.task.ops == ["+", "*"]
    assert cfg.verifier.options == {"rel_tol": 0.01}
    assert cfg.sampling.num_samples == Config().sampling.num_samples


def test_misspelled_key_names_file_key_and_closest(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("sampling:\n  temprature: 0.5\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message and "'sampling.temprature'" in message and "'sampling.temperature'" in message


def test_misspelled_section(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'sampling'"):
        load_config(None, ["samplin.temperature=1"])


@pytest.mark.parametrize("override, fragment", [
    ("sampling.num_samples=abc", "'sampling.num_samples' must be int"),
    ("sampling.num_samples=true", "'sampling.num_samples' must be int"),
    ("model.dtype=float64", "did you mean 'float16'"),
    ("sampling.top_p=0", "top_p in (0, 1]"),
    ("task.ops=+", "'task.ops' must be a list"),
])
def test_wrong_values_are_named(override, fragment):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert fragment in str(err.value)


def test_all_errors_reported_at_once():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["sampling.tempreature=1", "model.nme=x"])
    assert len(err.value.problems) == 2


def test_int_accepted_for_float_and_resolved_config_roundtrips(tmp_path):
    cfg = load_config(None, ["sampling.temperature=1"])
    assert isinstance(cfg.sampling.temperature, float)
    configio.dump(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg


def test_exponent_notation_is_a_float_but_other_strings_are_not():
    # PyYAML (YAML 1.1) reads 3e-5 as the string '3e-5'; users write learning rates that way.
    cfg = load_config(None, ["train.grpo.learning_rate=3e-5", "sampling.temperature=7E-1"])
    assert cfg.train.grpo.learning_rate == 3e-5 and cfg.sampling.temperature == 0.7
    for bad in ("fast", "nan", "3e", "e-5"):
        with pytest.raises(ConfigError, match="train.grpo.learning_rate' must be float"):
            load_config(None, [f"train.grpo.learning_rate={bad}"])


def test_every_field_has_help():
    for key, _, _, help_text in configio.describe(Config):
        assert help_text, f"{key} has no help text"


@pytest.mark.parametrize("path", RUN_CONFIGS, ids=lambda p: p.name)
def test_every_run_config_loads(path, tmp_path):
    from selfimprove.train.strategies import check_schedule

    cfg = load_config(path)
    check_schedule(cfg.train.schedule)  # every strategy it names exists
    configio.dump(cfg, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == cfg  # and the resolved form loads back the same


@pytest.mark.parametrize("old, new", [
    ("train.sft.learning_rate=1e-5", "'train.sft' has moved to 'train.rft'"),
    ("train.samples_per_prompt=4", "'train.samples_per_prompt' has moved to 'train.rft.samples_per_prompt'"),
    ("train.rationalize.enabled=false", "'train.rationalize' has moved to 'train.rft.rationalize'"),
    ("train.curriculum.refill_passes=2", "'train.curriculum.refill_passes' has moved to 'train.grpo.refill_passes'"),
])
def test_keys_of_earlier_versions_name_their_new_place(old, new):
    with pytest.raises(ConfigError) as err:
        load_config(None, [old])
    assert new in str(err.value) and "\n" not in str(err.value)
