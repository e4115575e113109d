"""benchmarks/tune_self_improve.py: the dev split is the benchmark's untouched neighbour (variants and
the record: tests/benchmarks/test_tuning.py)."""

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
