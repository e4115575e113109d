"""MathVerifier vs math-verify: accuracy on HardVerify-Math, throughput on 1,000 mixed pairs.

    .venv/bin/pip install -e '.[bench]'        # math-verify is a benchmark-only dependency
    .venv/bin/python benchmarks/math_verifier.py [--data ../shared/data] [--skip-runtime] [--show-misses]

1. Accuracy: HardVerify-Math's 500 labelled pairs (each ``ground_truth`` against its equivalent
   ``fn_output`` and its wrong ``tn_output``). MathVerifier runs with its defaults, the exact
   equivalence policy (no numeric tolerance; a decimal reference is known to its last digit),
   gets the raw strings (and the question as the ``question`` field, which it uses only to
   decide whether two differently named symbols are free parameters); math-verify is shown both
   on raw strings and with both sides wrapped in ``$...$`` (its better mode). The dataset's
   labels allow about 5% numeric tolerance in a few rows (``85.71`` for ``600/7``): the exact
   policy counts those as misses by design, and prints them with ``--show-misses``.
2. Throughput, one process, main thread, after one warm-up call each, the two verifiers
   alternating in chunks of 100 pairs (so load from other jobs falls on both alike): 1,000 pairs =
   500 GSM8K test items (250 golds, each with one correct completion in a rotating format -
   the reference solution itself, ``\\boxed{}``, "The answer is $1,234.", "5.0" - and one wrong
   one) + the 500 HardVerify pairs. Identical pairs for both verifiers; references are *not*
   repeated, so MathVerifier's parse cache only helps where a reference is used twice.
3. Scaling of :class:`verifiers.runtime.VerifierRuntime` (out-of-process workers) with 1 and
   2 workers on the same 1,000 pairs, worker start-up excluded, with the CPU time the workers
   used per wall second ("cores busy"): on a machine shared with other jobs, pairs/s can only
   scale as far as free cores allow, and cores-busy shows whether the runtime used them.

Numbers depend on the machine and its load; the script prints what it measured, nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from verifiers.math import MathVerifier  # noqa: E402
from verifiers.math.parse import parse_answer  # noqa: E402
from verifiers.runtime import VerifierRuntime, VerifyItem  # noqa: E402

Pair = tuple[str, str, dict]  # completion, reference, fields


def hardverify_pairs(data: Path) -> list[tuple[Pair, bool]]:
    rows = json.loads((data / "hardverify-math" / "HardVerify-Math.json").read_text())
    out = []
    for r in rows:
        fields = {"question": r["question"]}
        out.append(((r["fn_output"], r["ground_truth"], fields), True))
        out.append(((r["tn_output"], r["ground_truth"], fields), False))
    return out


def gsm8k_pairs(data: Path, n_golds: int = 250) -> list[tuple[Pair, bool]]:
    rows = [json.loads(line) for line in (data / "gsm8k" / "test.jsonl").read_text().splitlines()[:n_golds]]
    out = []
    for i, r in enumerate(rows):
        gold = r["answer"].rsplit("####", 1)[1].strip().replace(",", "")
        value = int(gold)
        correct = [
            r["answer"],
            f"Adding it all up, the total is \\boxed{{{value}}}.",
            f"So the answer is ${value:,}.",
            f"Therefore the result is {value}.0",
        ][i % 4]
        wrong = [f"The answer is \\boxed{{{value + 1}}}.", f"#### {value * 2}"][i % 2]
        out.append(((correct, gold, {}), True))
        out.append(((wrong, gold, {}), False))
    return out


def ours() -> Callable[[Pair], bool]:
    verifier = MathVerifier()

    def check(pair: Pair) -> bool:
        return verifier(pair[0], pair[1], **pair[2]).correct

    return check


def math_verify(wrap: bool | None) -> Callable[[Pair], bool]:
    """``wrap=None``: wrap HardVerify answers (the pairs with a question), not GSM8K prose completions."""
    from math_verify import parse, verify

    def check(pair: Pair) -> bool:
        completion, reference, fields = pair
        if wrap or (wrap is None and "question" in fields):
            completion, reference = f"${completion.strip().strip('$')}$", f"${reference.strip().strip('$')}$"
        return bool(verify(parse(reference), parse(completion)))

    return check


def accuracy(check: Callable[[Pair], bool], labelled: list[tuple[Pair, bool]]) -> tuple[float, int, int]:
    accepted_true = false_pos = 0
    for pair, label in labelled:
        ok = check(pair)
        accepted_true += ok and label
        false_pos += ok and not label
    n_neg = sum(not label for _, label in labelled)
    return (accepted_true + n_neg - false_pos) / len(labelled), accepted_true, false_pos


def throughputs(checks: dict[str, Callable[[Pair], bool]], pairs: list[Pair], chunks: int = 10) -> dict[str, float]:
    """pairs/s of each check, run in alternating chunks so that load from other jobs hits all alike."""
    for check in checks.values():
        check(pairs[0])  # warm-up: imports, parser tables
    parse_answer.cache_clear()  # nothing carried over from the accuracy run
    spent = dict.fromkeys(checks, 0.0)
    size = -(-len(pairs) // chunks)
    for lo in range(0, len(pairs), size):
        for name, check in checks.items():
            start = time.perf_counter()
            for pair in pairs[lo : lo + size]:
                check(pair)
            spent[name] += time.perf_counter() - start
    return {name: len(pairs) / t for name, t in spent.items()}


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runtime_throughput(workers: int, pairs: list[Pair]) -> list[tuple[float, float]]:
    """(pairs/s, CPU cores the workers kept busy) for a first (cold-cache) and a second pass."""
    items = [VerifyItem(c, r, f) for c, r, f in pairs]
    passes = []
    with VerifierRuntime("math", workers=workers, deadline_s=10.0) as rt:
        rt.wait_until_ready()  # start-up (interpreter, imports) is not verification time
        for _ in range(2):
            before = {pid: _cpu_seconds(pid) for pid in rt.worker_pids()}
            start = time.perf_counter()
            rt.verify_batch(items)
            wall = time.perf_counter() - start
            # A worker replaced after a timeout is not counted (its CPU time is gone with it).
            cpu = sum(_cpu_seconds(pid) - before[pid] for pid in rt.worker_pids() if pid in before)
            passes.append((len(items) / wall, cpu / wall))
    return passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "../shared/data")
    parser.add_argument("--skip-runtime", action="store_true", help="skip the 1-vs-2-worker scaling run")
    parser.add_argument("--show-misses", action="store_true", help="list MathVerifier's wrong verdicts on HardVerify")
    args = parser.parse_args()
    hard = hardverify_pairs(args.data)
    n_pos = sum(label for _, label in hard)

    print(f"HardVerify-Math: {len(hard)} labelled pairs ({n_pos} equivalent, {len(hard) - n_pos} wrong)")
    candidates = {"MathVerifier (raw)": ours(), "math-verify ($..$)": math_verify(True),
                  "math-verify (raw)": math_verify(False)}
    for name, check in candidates.items():
        acc, tp, fp = accuracy(check, hard)
        print(f"  {name:22s} accuracy {acc:.3f}  equivalents accepted {tp}/{n_pos}  false positives {fp}")
    if args.show_misses:
        check = ours()
        for pair, label in hard:
            if check(pair) != label:
                print(f"    {'missed' if label else 'false positive'}: {pair[0][:60]!r} for {pair[1][:60]!r}")

    mixed = [p for p, _ in gsm8k_pairs(args.data)] + [p for p, _ in hard]
    print(f"\nThroughput, single process, {len(mixed)} mixed pairs (500 GSM8K + 500 HardVerify):")
    rates = throughputs({"MathVerifier": ours(), "math-verify ($..$)": math_verify(None)}, mixed)
    for name, rate in rates.items():
        print(f"  {name:22s} {rate:7.1f} pairs/s  ({1000 / rate:.2f} ms/pair)")
    print(f"  speed-up: {rates['MathVerifier'] / rates['math-verify ($..$)']:.2f}x")

    if not args.skip_runtime:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\nVerifierRuntime (worker processes), same {len(mixed)} pairs; "
              f"{os.cpu_count()} CPUs, load average before: {load}")
        one, two = runtime_throughput(1, mixed), runtime_throughput(2, mixed)
        for label, k in (("first pass, cold caches", 0), ("second pass, warm caches", 1)):
            print(f"  {label}:")
            print(f"    1 worker  {one[k][0]:7.1f} pairs/s  (workers kept {one[k][1]:.2f} cores busy)")
            print(f"    2 workers {two[k][0]:7.1f} pairs/s  (workers kept {two[k][1]:.2f} cores busy)"
                  f"  scaling {two[k][0] / one[k][0]:.2f}x")
        print("  (on a loaded machine the other processes take the cores: read scaling together with cores busy)")

if __name__ == "__main__":
    main()
