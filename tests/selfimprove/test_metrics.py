import math

import pytest

from selfimprove.metrics import pass_at_k


@pytest.mark.parametrize("n, c, k", [(8, 0, 1), (8, 3, 1), (8, 3, 4), (8, 8, 8), (10, 1, 5), (5, 2, 5)])
def test_pass_at_k_matches_combinatorial_definition(n, c, k):
    # probability that a random k-subset of the n samples contains at least one correct one
    want = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(want)


def test_pass_at_1_is_the_mean():
    assert pass_at_k(8, 3, 1) == pytest.approx(3 / 8)


def test_k_above_n_is_an_error():
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 8)
