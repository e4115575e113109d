from selfimprove.train.selection import dedupe_key, select
from tests.support import trace


def test_keeps_only_correct_with_cap_shortest_first():
    traces = [trace("p", "long answer 4", True, tokens=9, index=0), trace("p", "4", True, tokens=1, index=1),
              trace("p", "mid 4", True, tokens=4, index=2), trace("p", "5", False, tokens=1, index=3),
              trace("q", "4", True, tokens=2)]
    kept = select(traces, cap=2, prefer="shortest")
    assert kept == [False, True, True, False, True]


def test_dedupe_within_round_and_against_earlier_rounds():
    traces = [trace("p", "the  answer 4", True, index=0), trace("p", "the answer 4 ", True, index=1),
              trace("p", "other 4", True, index=2)]
    assert sum(select(traces, cap=5)) == 2
    assert sum(select(traces, cap=5, dedupe=False)) == 3
    seen = {dedupe_key(trace("p", "other 4", True))}
    kept = select(traces, cap=5, seen=seen)
    assert not kept[2] and sum(kept) == 1


def test_random_preference_is_seeded():
    traces = [trace("p", f"answer {i} 4", True, index=i) for i in range(6)]
    a, b = select(traces, cap=2, prefer="random", seed=1), select(traces, cap=2, prefer="random", seed=1)
    assert a == b and sum(a) == 2
