import pytest

from rollouts.engine import RolloutStats
from selfimprove.train.throughput import RoundClock, trained_tokens


def test_fractions_tokens_per_second_and_mfu():
    clock = RoundClock(train_s=4.0, eval_s=2.0,
                       trained_tokens=trained_tokens([{"num_tokens": 1000.0}, {"loss": 1.0}, {"num_tokens": 8000.0}]))
    for phase in (RolloutStats(sequences=4, new_tokens=200, generate_s=0.5, verify_s=0.25),
                  RolloutStats(sequences=8, new_tokens=300, generate_s=1.5, verify_s=0.75)):
        clock.add_sampling(phase, seconds=phase.generate_s + phase.verify_s + 0.5)  # 0.5 s of other work each
    assert clock.sampling == RolloutStats(sequences=12, new_tokens=500, generate_s=2.0, verify_s=1.0)
    m = clock.metrics(parameters=10**6, world_size=2, peak_tflops=1.0)
    assert m["throughput/fraction_train"] == pytest.approx(0.4) and m["throughput/fraction_other"] == pytest.approx(0.1)
    assert m["throughput/generate_tokens_per_s"] == 250 and m["throughput/train_tokens_per_s"] == 2000
    assert m["throughput/mfu"] == pytest.approx(6 * 10**6 * 8000 / 4.0 / 2e12)


def test_no_mfu_without_a_known_peak():
    assert "throughput/mfu" not in RoundClock(train_s=1.0, trained_tokens=10).metrics(
        parameters=1, world_size=1, peak_tflops=None)  # no GPU here, so nothing to look up
