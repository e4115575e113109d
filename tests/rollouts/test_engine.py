import copy
import dataclasses

import datasets
import pytest
import torch

from rollouts.engine import RolloutEngine, RolloutRequest, SamplingParams
from rollouts.trace import Turn, from_row, to_row


def requests(n=3):
    return [RolloutRequest(f"p{i}", [{"role": "user", "content": f"What is {i} + 2?"}], reference=str(i + 2),
                           task="arithmetic") for i in range(n)]


def generate(tiny, **params):
    engine = RolloutEngine(tiny.model, tiny.tokenizer, SamplingParams(**params), seed=3, progress=False)
    return engine, engine.generate(requests())


def test_shapes_order_and_metadata(tiny):
    engine, traces = generate(tiny, num_samples=4, max_new_tokens=8, batch_size=8)
    assert [(t.problem_id, t.sample_index) for t in traces] == [(f"p{i}", j) for i in range(3) for j in range(4)]
    for t in traces:
        assert 1 <= t.num_tokens <= 8 and len(t.logprobs) == t.num_tokens
        assert all(lp <= 0 for lp in t.logprobs)
        assert t.reference == str(int(t.problem_id[1:]) + 2)
        assert t.finish_reason in ("stop", "length")
    assert engine.stats.sequences == 12 and engine.stats.tokens_per_s > 0


def test_seeded_sampling_is_reproducible(tiny):
    _, a = generate(tiny, num_samples=3, max_new_tokens=6)
    _, b = generate(tiny, num_samples=3, max_new_tokens=6)
    assert [t.completion_ids for t in a] == [t.completion_ids for t in b]
    assert len({tuple(t.completion_ids) for t in a}) > 1  # samples differ from one another


def test_shared_prefill_matches_plain_generation(tiny):
    """Greedy decoding must give the same tokens and logprobs with and without the shared KV cache."""
    _, plain = generate(tiny, num_samples=2, temperature=0.0, max_new_tokens=10, shared_prefill=False, compact=False)
    _, shared = generate(tiny, num_samples=2, temperature=0.0, max_new_tokens=10, shared_prefill=True, compact=False)
    assert [t.completion_ids for t in plain] == [t.completion_ids for t in shared]
    for a, b in zip(plain, shared):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)


def _forward_logits(tiny, engine, trace):
    """[T, V] logits a fresh forward pass gives at each of ``trace``'s completion tokens."""
    prompt = tiny.tokenizer(engine.render(trace.messages), add_special_tokens=False).input_ids
    ids = torch.tensor([prompt + trace.completion_ids])
    with torch.no_grad():
        return tiny.model(ids).logits[0, len(prompt) - 1 : -1]


@pytest.mark.parametrize("temperature", [1.7, 0.5])
def test_logprobs_are_at_the_sampling_temperature(tiny, temperature):
    """Recorded logprobs equal log-softmax(logits / T) of a fresh forward pass: the distribution
    sampled from, which TRL's importance ratios compare against (rollouts/trace.py)."""
    engine, traces = generate(tiny, num_samples=2, temperature=temperature, max_new_tokens=6, shared_prefill=True)
    t = traces[1]
    logits = _forward_logits(tiny, engine, t)
    want = torch.log_softmax(logits / temperature, -1).gather(1, torch.tensor(t.completion_ids)[:, None]).squeeze(1)
    assert t.logprobs == pytest.approx(want.tolist(), abs=1e-4)


def test_logprobs_with_top_p_are_renormalised_over_the_nucleus(tiny):
    engine, traces = generate(tiny, num_samples=2, temperature=0.9, top_p=0.6, max_new_tokens=6)
    for t in traces:
        logp = torch.log_softmax(_forward_logits(tiny, engine, t) / 0.9, -1)  # [T, V]
        sorted_p, order = logp.exp().sort(-1, descending=True)
        keep_sorted = (sorted_p.cumsum(-1) - sorted_p) < 0.6  # HF/vLLM: keep until the mass reaches top_p
        nucleus = torch.zeros_like(logp, dtype=torch.bool).scatter(1, order, keep_sorted)
        mass = (logp.exp() * nucleus).sum(-1)
        picked = logp.gather(1, torch.tensor(t.completion_ids)[:, None]).squeeze(1)
        assert t.logprobs == pytest.approx((picked - mass.log()).tolist(), abs=1e-4)


def test_greedy_logprobs_are_raw(tiny):
    engine, traces = generate(tiny, num_samples=1, temperature=0.0, max_new_tokens=6)
    t = traces[0]
    want = torch.log_softmax(_forward_logits(tiny, engine, t), -1).gather(1, torch.tensor(t.completion_ids)[:, None])
    assert t.logprobs == pytest.approx(want.squeeze(1).tolist(), abs=1e-4)


def test_chunks_keep_samples_of_a_prompt_together(tiny, monkeypatch):
    chunks = []
    original = RolloutEngine._generate_chunk

    def recording(self, chunk, g):
        chunks.append(([r.problem_id for r in chunk], g))
        return original(self, chunk, g)

    monkeypatch.setattr(RolloutEngine, "_generate_chunk", recording)
    _, traces = generate(tiny, num_samples=4, max_new_tokens=4, batch_size=5)  # room for 1 prompt x 4 per chunk
    assert [g for _, g in chunks] == [4, 4, 4] and all(len(ids) == 1 for ids, _ in chunks)
    assert [(t.problem_id, t.sample_index) for t in traces] == [(ids[0], i) for ids, _ in chunks for i in range(4)]


def test_trace_rows_roundtrip_through_parquet(tiny, tmp_path):
    _, traces = generate(tiny, num_samples=2, max_new_tokens=4)
    traces[0].turns = [Turn("first try", "wrong: expected 2", "wrong")]
    traces[0].reference = {"tests": ["assert f(1) == 2"]}
    datasets.Dataset.from_list([to_row(t) for t in traces]).to_parquet(str(tmp_path / "t.parquet"))
    loaded = datasets.load_dataset("parquet", data_files=str(tmp_path / "t.parquet"), split="train")
    back = [from_row(r) for r in loaded]
    assert back[0].turns == traces[0].turns and back[0].reference == traces[0].reference
    assert [b.completion_ids for b in back] == [t.completion_ids for t in traces]


@pytest.fixture
def early_eos(tiny):
    """(a copy of the tiny model, an EOS token for it) such that rows of one chunk stop at
    different steps and some never do. The copy's weights are noised: the tiny random model's
    greedy completions are one token repeated, whatever the prompt."""
    model = copy.deepcopy(tiny.model)
    noise = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=noise) * 0.3)
    varied = dataclasses.replace(tiny, model=model)
    _, traces = generate(varied, num_samples=1, temperature=0.0, max_new_tokens=12, compact=False)
    inner = [tok for t in traces for tok in t.completion_ids[1:-1]]
    tok = next(tok for tok in inner if 0 < sum(tok in t.completion_ids for t in traces) < len(traces))
    model.generation_config.eos_token_id = tok
    return varied, tok


def test_compaction_matches_generate_greedy(early_eos):
    """Dropping finished rows changes what is computed, not what is decoded: greedy tokens, stop
    reasons and logprobs equal generate()'s, with rows stopping at different steps."""
    varied, eos = early_eos
    _, plain = generate(varied, num_samples=2, temperature=0.0, max_new_tokens=12, compact=False)
    _, compact = generate(varied, num_samples=2, temperature=0.0, max_new_tokens=12, compact=True)
    assert [t.completion_ids for t in compact] == [t.completion_ids for t in plain]
    assert [t.finish_reason for t in compact] == [t.finish_reason for t in plain]
    assert {t.finish_reason for t in plain} == {"stop", "length"}
    assert any(t.completion_ids[-1] == eos for t in compact)
    for a, b in zip(plain, compact):
        assert b.logprobs == pytest.approx(a.logprobs, abs=1e-4)


def test_compaction_drops_finished_rows(early_eos):
    """Each decode step runs only the rows still going: the batch shrinks as rows stop."""
    varied, _ = early_eos
    sizes = []
    hook = varied.model.register_forward_pre_hook(lambda m, args, kw: sizes.append(kw["input_ids"].shape), with_kwargs=True)
    try:
        _, traces = generate(varied, num_samples=2, temperature=0.0, max_new_tokens=12)
    finally:
        hook.remove()
    steps = [shape[0] for shape in sizes if shape[1] == 1]  # one new token per row
    assert steps[0] == len(traces) and steps == sorted(steps, reverse=True) and steps[-1] < steps[0]
    assert sum(steps) == sum(t.num_tokens for t in traces)  # no step is spent on a finished row


def test_compaction_sampling_is_seeded_and_records_warped_logprobs(early_eos):
    varied, _ = early_eos
    _, a = generate(varied, num_samples=3, temperature=0.8, max_new_tokens=10)
    _, b = generate(varied, num_samples=3, temperature=0.8, max_new_tokens=10)
    assert len({t.num_tokens for t in a}) > 1  # rows stopped at different steps
    assert [t.completion_ids for t in a] == [t.completion_ids for t in b]
    engine = RolloutEngine(varied.model, varied.tokenizer, SamplingParams(), progress=False)
    for t in a:
        logits = _forward_logits(varied, engine, t)
        want = torch.log_softmax(logits / 0.8, -1).gather(1, torch.tensor(t.completion_ids)[:, None]).squeeze(1)
        assert t.logprobs == pytest.approx(want.tolist(), abs=1e-4)


def test_sampling_leaves_the_callers_random_state_alone(tiny):
    """The engine seeds each call on a fork of torch's generator (#28 item 11): the training
    process's own stream (dropout, shuffles, the state a resume restores) is not re-seeded."""
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    generate(tiny, num_samples=2, max_new_tokens=4)
    assert torch.equal(torch.random.get_rng_state(), before)
