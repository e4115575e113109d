"""benchmarks/tune_self_improve.py: the dev split is the benchmark's untouched neighbour, and variants parse."""

import argparse

import pytest

from benchmarks import tune_self_improve as tune
from benchmarks.self_improve_bench import data
from selfimprove.tasks.base import LeakageError, check_disjoint

SMALL = dict(train=40, val=5, test=10, ood=6, seed=3)


def test_dev_shares_no_key_and_leaves_the_benchmark_splits_as_they_are():
    splits, dev = tune.dev_splits(12, SMALL)
    bench = data.build(**SMALL)
    for name in ("train", "val", "test", "ood"):
        assert [p.id for p in getattr(splits, name)] == [p.id for p in getattr(bench, name)]
    assert len(dev) == 24 and {splits.family[p.id] for p in dev} == {"add2", "mul2x1"}
    dev_keys = {p.split_key for p in dev}
    for name in ("train", "val", "test", "ood"):
        assert not dev_keys & {p.split_key for p in getattr(bench, name)}
    # the check that guards it does fire on a shared key
    with pytest.raises(LeakageError):
        check_disjoint({"train": bench.train, "dev": [*dev, bench.train[0]]})


def test_variants_parse_and_bad_ones_are_named():
    assert tune.parse_variant("wide=train.prompts_per_round=96; train.rft.samples_per_prompt=4") == (
        "wide", ["train.prompts_per_round=96", "train.rft.samples_per_prompt=4"])
    for bad in ("wide", "wide=", "9x=a=1", "wide=train.prompts_per_round"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=KEY=VALUE"):
            tune.parse_variant(bad)
    assert tune.variant_overrides("ours", {}) == []
    assert "train.rft.prefer=random" in tune.variant_overrides("plain_rft", {})
