import numpy as np
import pytest

from benchmarks.self_improve_bench.stats import Interval, bootstrap_mean, paired_difference


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
    (lambda: bootstrap_mean([]), "per-problem values"),
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


def test_clusters_widen_the_interval_of_correlated_problems():
    # 20 templates x 5 instances that pass or fail together: 20 independent units, not 100
    rng = np.random.default_rng(5)
    per_template = rng.integers(0, 2, size=20).astype(float)
    values = np.repeat(per_template, 5)
    templates = np.repeat(np.arange(20), 5)
    clustered = bootstrap_mean(values, clusters=templates, seed=1)
    plain = bootstrap_mean(values, seed=1)
    assert clustered.estimate == plain.estimate == values.mean()
    assert clustered.clusters == 20 and plain.clusters is None
    assert (clustered.high - clustered.low) > 1.8 * (plain.high - plain.low)  # about sqrt(5) wider
    # identical to resampling the 20 template means as independent problems
    means = bootstrap_mean(per_template, clusters=np.arange(20), seed=1)
    assert (clustered.low, clustered.high) == pytest.approx((means.low, means.high))


def test_clusters_of_unequal_size_weigh_by_problem():
    values = [1.0] * 9 + [0.0]
    iv = bootstrap_mean(values, clusters=["a"] * 9 + ["b"])
    assert iv.estimate == pytest.approx(0.9)
    assert iv.low == pytest.approx(0.0) and iv.high == pytest.approx(1.0)  # a resample may hold only "b"


def test_runs_put_seed_variance_in_the_interval():
    # three runs that agree within each problem but disagree with each other by a constant offset
    rng = np.random.default_rng(6)
    base = rng.random(200)
    runs = np.stack([base + 0.1, base, base - 0.1])
    iv = bootstrap_mean(runs, seed=2)
    one = bootstrap_mean(runs[1], clusters=np.arange(200), seed=2)
    assert iv.runs == 3 and iv.n == 200
    assert iv.estimate == pytest.approx(base.mean())
    assert iv.high - iv.low > (one.high - one.low) + 0.05  # the run-to-run spread is in it
    gain = paired_difference(runs, base, seed=2)
    assert gain.low < 0 < gain.high and gain.estimate == pytest.approx(0.0)


def test_runs_that_agree_give_the_single_run_interval():
    x = np.random.default_rng(7).integers(0, 2, 150).astype(float)
    twice = bootstrap_mean(np.stack([x, x]), seed=3)
    once = bootstrap_mean(x, clusters=np.arange(150), seed=3)
    assert twice.estimate == once.estimate
    assert twice.high - twice.low == pytest.approx(once.high - once.low, rel=0.15)


def test_strata_with_runs_keep_their_sizes():
    # within each family every problem scores the same: a stratified resample cannot move the mean
    families = ["a"] * 30 + ["b"] * 70
    row = np.array([1.0] * 30 + [0.0] * 70)
    iv = bootstrap_mean(np.stack([row, row]), strata=families, seed=4)
    assert iv.estimate == pytest.approx(0.3) and iv.low == pytest.approx(0.3) and iv.high == pytest.approx(0.3)
    loose = bootstrap_mean(np.stack([row, row]), seed=4)
    assert loose.high - loose.low > 0.1


def test_two_multi_run_arms_resample_each_arms_runs():
    rng = np.random.default_rng(8)
    base = rng.integers(0, 2, 200).astype(float)
    steady = np.stack([base, base, base])
    # same mean as `steady`, but one seed solved everything and one nothing
    erratic = np.stack([np.ones(200), base, np.zeros(200)])
    erratic[1] = 1 - base if base.mean() < 0.5 else base  # keep the mean near steady's
    diff = paired_difference(erratic, steady, seed=5)
    assert diff.runs == 3 and diff.n == 200
    assert diff.estimate == pytest.approx(erratic.mean() - steady.mean())
    assert diff.low < 0 < diff.high and diff.high - diff.low > 0.4  # the seed spread of `erratic` is in it
    assert paired_difference(steady, steady, seed=5).estimate == 0.0
    # against a single row, the two-sided path is the one-row path: the same draws, the same interval
    one_row = paired_difference(erratic, base, strata=["x", "y"] * 100, seed=6)
    as_runs = paired_difference(erratic, base[None, :], strata=["x", "y"] * 100, seed=6)
    assert (as_runs.estimate, as_runs.low, as_runs.high) == pytest.approx((one_row.estimate, one_row.low, one_row.high))


@pytest.mark.parametrize("call, match", [
    (lambda: bootstrap_mean([1.0, 0.0], strata=["a", "b"], clusters=["a", "b"]), "not supported"),
    (lambda: bootstrap_mean([[1.0, 0.0]], strata=["a"]), "strata labels"),
    (lambda: paired_difference([[1, 0, 1]], [[1, 0]]), "pair them"),
    (lambda: paired_difference([[1, 0]], [[1, 0]], strata=["a", "b"], clusters=["a", "b"]), "not supported"),
    (lambda: bootstrap_mean([1.0, 0.0], clusters=["a"]), "cluster labels"),
    (lambda: paired_difference([[1, 0, 1]], [1, 0]), "pair them"),
    (lambda: bootstrap_mean(np.zeros((2, 2, 2))), "2-d"),
])
def test_bad_cluster_or_run_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
