from selfimprove.tasks.base import Problem
from selfimprove.train.curriculum import PassRates, choose_prompts, split_by_variance
from tests.support import trace


def problems(n):
    return [Problem(id=f"p{i}", prompt=f"q{i}", reference="4", task="toy") for i in range(n)]


def test_pass_rates_and_learnable_band_first():
    rates = PassRates()
    rates.update([trace("p0", "4", True), trace("p0", "4", True, index=1),  # solved: 1.0
                  trace("p1", "5", False), trace("p1", "5", False, index=1),  # never: 0.0
                  trace("p2", "4", True), trace("p2", "5", False, index=1)])  # learnable: 0.5
    assert rates.rates == {"p0": 1.0, "p1": 0.0, "p2": 0.5}
    chosen = choose_prompts(problems(4), 2, rates, [0.0, 1.0], enabled=True, seed=0)
    assert {p.id for p in chosen} == {"p2", "p3"}  # p3 never tried counts as learnable
    everything = choose_prompts(problems(4), None, rates, [0.0, 1.0], enabled=True, seed=0)
    assert {p.id for p in everything[2:]} == {"p0", "p1"}  # out-of-band prompts only fill
    assert rates.band_fraction([0.0, 1.0]) == 1 / 3


def test_exclude_and_seeded_order():
    a = choose_prompts(problems(10), 5, PassRates(), [0.0, 1.0], enabled=True, seed=3, exclude={"p1"})
    b = choose_prompts(problems(10), 5, PassRates(), [0.0, 1.0], enabled=True, seed=3, exclude={"p1"})
    assert a == b and "p1" not in {p.id for p in a}


def test_zero_variance_groups_are_split_off():
    traces = [trace("a", "4", True), trace("a", "5", False, index=1), trace("b", "5", False), trace("b", "6", False, index=1),
              trace("c", "4", True), trace("c", "4 ", True, index=1)]
    varied, flat = split_by_variance(traces)
    assert set(varied) == {"a"} and set(flat) == {"b", "c"}
