from rollouts.engine import RolloutEngine, SamplingParams
from selfimprove.tasks.base import Problem
from selfimprove.train.rollout_source import RolloutSource, prompt_key
from tests.support import trace


MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]


def _source(engine) -> RolloutSource:
    """A source for one prompt with two cached attempts at it."""
    p = Problem(id="p1", prompt="What is 2 + 2?", reference="4", task="arithmetic")
    cached = [trace("p1", "4", True, index=i, tokens=3) for i in range(2)]
    for t in cached:
        t.messages = MESSAGES
    return RolloutSource(engine, {prompt_key(MESSAGES): p}, {prompt_key(MESSAGES): cached})


def test_serves_cached_groups_then_samples_fresh(tiny):
    messages = MESSAGES
    engine = RolloutEngine(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=4), seed=0, progress=False)
    source = _source(engine)

    first = source([messages, messages], None)  # TRL passes each prompt once per generation, in a row
    assert first["completion_ids"] == [[0, 1, 2], [0, 1, 2]] and source.served_cached == 2 and not source.fresh
    prompt_ids = tiny.tokenizer(engine.render(messages), add_special_tokens=False).input_ids
    assert first["prompt_ids"] == [prompt_ids, prompt_ids]

    second = source([messages, messages], None)  # the cache is spent: fresh samples, recorded as traces
    assert len(second["completion_ids"]) == 2 and len(source.fresh) == 2
    assert [len(lp) for lp in second["logprobs"]] == [len(c) for c in second["completion_ids"]]
    assert source.fresh[0].problem_id == "p1" and source.fresh[0].reference == "4"


def test_every_call_syncs_the_engine_even_when_the_cache_serves_it_all(tiny):
    """A vLLM server's weights are pushed by the main process only while other ranks wait for them
    (#28 item 7): a rank whose groups all come from the cache must still sync each new policy."""

    class Counting(RolloutEngine):
        syncs = 0

        def sync(self) -> None:
            Counting.syncs += 1

    messages = MESSAGES
    engine = Counting(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=4), seed=0, progress=False)
    source = _source(engine)
    source([messages, messages], None)
    assert Counting.syncs == 1 and not source.fresh  # served from the cache, synced all the same
