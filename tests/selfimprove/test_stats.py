import numpy as np
import pytest

from selfimprove.stats import Interval, bootstrap_mean, paired_difference


def test_constant_difference_is_a_point():
    iv = paired_difference([1, 0, 1, 1], [0, -1, 0, 0])
    assert iv.estimate == iv.low == iv.high == 1.0
    assert iv.excludes_zero() and iv.n == 4


def test_mean_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, size=400)
    iv = bootstrap_mean(x, seed=3)
    half = 1.96 * x.std() / np.sqrt(len(x))
    assert iv.low < x.mean() < iv.high
    assert (iv.high - iv.low) / 2 == pytest.approx(half, rel=0.1)


def test_pairing_removes_shared_problem_difficulty():
    rng = np.random.default_rng(2)
    difficulty = rng.random(300)
    before = (rng.random(300) < difficulty).astype(float)
    after = before.copy()
    flip = rng.choice(300, size=30, replace=False)
    after[flip] = 1.0  # 30 problems newly solved (some already were)
    paired = paired_difference(after, before)
    unpaired_half = 1.96 * np.sqrt(after.var() / 300 + before.var() / 300)
    assert paired.excludes_zero()
    assert (paired.high - paired.low) / 2 < unpaired_half / 2


def test_strata_keep_their_sizes():
    # within each stratum every value is equal: resampling inside strata cannot move the mean
    values = [0.0] * 50 + [1.0] * 10
    families = ["a"] * 50 + ["b"] * 10
    iv = bootstrap_mean(values, strata=families)
    assert iv.low == iv.high == pytest.approx(10 / 60)
    plain = bootstrap_mean(values)
    assert plain.high - plain.low > 0.1


def test_no_gain_interval_contains_zero_and_is_seeded():
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    iv = paired_difference(a, b, seed=9)
    assert not iv.excludes_zero()
    assert iv == paired_difference(a, b, seed=9)
    assert str(iv).endswith("(95%)") and iv.to_dict()["excludes_zero"] is False


@pytest.mark.parametrize("call, match", [
    (lambda: bootstrap_mean([]), "non-empty"),
    (lambda: bootstrap_mean([1.0], level=1.0), "level"),
    (lambda: paired_difference([1, 0], [1]), "pair them"),
    (lambda: bootstrap_mean([1.0, 0.0], strata=["a"]), "strata"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_interval_excludes_zero_on_either_side():
    assert Interval(-0.1, -0.2, -0.01).excludes_zero()
    assert not Interval(0.1, -0.01, 0.2).excludes_zero()
