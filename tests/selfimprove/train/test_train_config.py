import pytest

from selfimprove.config import ConfigError, load_config
from selfimprove.train.strategies import STRATEGIES, UnknownStrategyError, check_schedule


def test_schedule_repeats_last_entry():
    cfg = load_config(None, ["train.schedule=[rft, rft, grpo]"])
    assert [cfg.train.strategy_for(r) for r in range(1, 6)] == ["rft", "rft", "grpo", "grpo", "grpo"]


def test_unknown_strategy_names_the_entry_and_the_fix():
    with pytest.raises(UnknownStrategyError, match=r"train.schedule\[1\]: unknown strategy 'grp'; did you mean 'grpo'"):
        check_schedule(["rft", "grp"])
    assert set(STRATEGIES) >= {"rft", "grpo"}


@pytest.mark.parametrize("override, fragment", [
    ("train.curriculum.band=[0.5, 0.2]", "curriculum.band"),
    ("train.schedule=[]", "schedule must name"),
    ("train.reward=coin", "must be one of .verifier. | .random. | .shuffled."),
    ("train.grpo.loss_typ=dapo", "did you mean 'train.grpo.loss_type'"),
    ("train.grpo.extra={use_vllm: true}", "extra.use_vllm is not supported.*rollout_func"),
    ("train.grpo.gradient_accumulation_steps=3", "must be >= 1 and divide prompts_per_step x num_generations = 32"),
])
def test_bad_train_values_are_named(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(None, [override])


def test_unknown_trl_extra_option_is_named():
    from trl import SFTConfig

    from selfimprove.train.strategies.base import checked_extra

    with pytest.raises(ValueError, match="train.rft.extra: unknown SFTConfig option.*did you mean 'max_length'"):
        checked_extra(SFTConfig, {"max_lenght": 5}, "train.rft.extra")


def test_eval_every_must_be_positive():
    with pytest.raises(ConfigError, match="eval_every must be >= 1"):
        load_config(None, ["train.eval_every=0"])


def test_deepspeed_is_set_once():
    assert load_config(None, ["train.deepspeed=configs/deepspeed/zero3.json"]).train.deepspeed.endswith("zero3.json")
    with pytest.raises(ConfigError, match="set DeepSpeed once"):
        load_config(None, ["train.deepspeed=configs/deepspeed/zero3.json",
                           "train.rft.extra={deepspeed: configs/deepspeed/zero2.json}"])


def test_memory_controls_reach_the_trl_configs(tiny, tmp_path):
    from trl import GRPOConfig

    from selfimprove.train.strategies.grpo import GRPO

    cfg = load_config(None, ["train.gradient_checkpointing=true", "train.grpo.gradient_accumulation_steps=4"])
    strategy = GRPO(cfg, runtime=None, work_dir=tmp_path)
    args = GRPOConfig(**strategy.common_args(tiny, seed=0), **strategy.batch_args())
    assert args.activation_checkpointing and args.gradient_accumulation_steps == 4
    assert args.per_device_train_batch_size * 4 == cfg.train.grpo.prompts_per_step * cfg.train.grpo.num_generations
