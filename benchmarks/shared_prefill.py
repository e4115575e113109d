"""Shared prefill vs plain ``generate(num_return_sequences=G)``, side by side in one run.

    .venv/bin/python benchmarks/shared_prefill.py [--model builtin:smollm2-135m-instruct] [--repeats 3]

For short (arithmetic) and long (GSM8K-length) prompts, samples G completions per prompt both
ways, alternating the order each repeat, and prints median tokens/s and the ratio. Sampling
is seeded identically, so both ways do the same work up to float rounding. Both use
``generate`` (``compact=False``): row compaction always shares the prefill, and
``benchmarks/compact_decode.py`` measures it.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from rollouts.engine import RolloutEngine, RolloutRequest, SamplingParams
from selfimprove.models import load_model

LONG = ("A farmer has {i} fields. Each field has 12 rows of apple trees and every row holds 17 trees. "
        "In spring a storm knocks down one tree in every four rows of each field, and the farmer plants "
        "three new trees for each one that fell. Later he sells the apples from half of the trees at $3 per "
        "basket, with each tree giving 5 baskets. How much money does he make from the apples?")


def prompts(kind: str, n: int) -> list[RolloutRequest]:
    text = (lambda i: f"What is {i % 10} + {(3 * i) % 10}?") if kind == "short" else (lambda i: LONG.format(i=i + 2))
    return [RolloutRequest(f"{kind}{i}", [{"role": "user", "content": text(i) + " Put the answer in \\boxed{}."}])
            for i in range(n)]


def run(loaded, reqs, shared: bool, g: int, tokens: int) -> float:
    params = SamplingParams(num_samples=g, temperature=0.7, max_new_tokens=tokens, batch_size=len(reqs) * g,
                            shared_prefill=shared, compact=False)
    engine = RolloutEngine(loaded.model, loaded.tokenizer, params, seed=0, progress=False)
    t0 = time.perf_counter()
    traces = engine.generate(reqs)
    return sum(t.num_tokens for t in traces) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="builtin:smollm2-135m-instruct")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    loaded = load_model(args.model, device="cpu")
    print(f"{args.model}, {args.prompts} prompts x {args.samples} samples x {args.tokens} new tokens, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    for kind in ("short", "long"):
        reqs = prompts(kind, args.prompts)
        plen = len(loaded.tokenizer(RolloutEngine(loaded.model, loaded.tokenizer, SamplingParams()).render(reqs[0].messages)).input_ids)
        speeds: dict[bool, list[float]] = {False: [], True: []}
        for r in range(args.repeats):
            for shared in ((False, True) if r % 2 == 0 else (True, False)):
                speeds[shared].append(run(loaded, reqs, shared, args.samples, args.tokens))
        plain, shared = statistics.median(speeds[False]), statistics.median(speeds[True])
        print(f"{kind:5s} prompt ({plen:3d} tokens): plain {plain:6.1f} tok/s   shared prefill {shared:6.1f} tok/s"
              f"   ratio {shared / plain:.2f}x")


if __name__ == "__main__":
    main()
