"""Helpers shared across the test tree: graded traces without a model, the tiny-model run
settings, and the toy verifier a random tiny model satisfies now and then.

Configs name the toy verifier by its import path, :data:`TOY_VERIFIER` (also
``benchmarks/gpu_smoke.py --dry``, which runs the GPU smoke schedule on a CPU).
"""

from pathlib import Path

from rollouts.trace import Trace
from verifiers.base import Verification

TOY_VERIFIER = "tests.support:starts_with_digit"

#: A tiny random model on the toy verifier, on problems it can be graded on in seconds: the
#: settings every tiny run shares. :func:`tiny_overrides` and :data:`TINY_RANKS` add the rest.
TINY = {
    "model.name": "tiny-random", "run.device": "cpu", "verifier.name": TOY_VERIFIER, "verifier.workers": 1,
    "task.ops": "['-']", "task.num_train": 38, "task.num_test": 16, "sampling.max_new_tokens": 6,
    "sampling.temperature": 1.0, "train.rft.samples_per_prompt": 8, "train.rft.rationalize.enabled": False,
    "train.rft.batch_size": 8,
    # A random model may verify nothing in a round: these runs test the loop's mechanics, not whether it
    # stops on rounds with nothing to learn (tests/selfimprove/train/test_empty_rounds.py does).
    "train.empty_rounds_limit": 0,
    # A random model stops within 6 tokens about 1 time in 25: under the default (a cut-off completion
    # earns 0) nearly every group is flat and GRPO steps move nothing, so the resume and carry-over
    # checks would compare weights that never changed. The tiny runs grade the cut text instead;
    # test_truncated_reward.py runs the default.
    "train.grpo.truncated": "grade",
}

#: The multi-rank runs (tests/launch): 8 held-out problems x 4 samples; 16 prompts x 8 attempts;
#: two rft rounds on whatever passes.
TINY_RANKS = TINY | {
    "run.seed": 0, "eval.max_problems": 8, "eval.ks": "[1, 4]", "sampling.num_samples": 4,
    "train.rounds": 2, "train.schedule": "[rft]", "train.prompts_per_round": 16, "train.rft.epochs": 2,
}


def tiny_overrides(run_dir: Path | str, name: str, **extra: object) -> list[str]:
    """``load_config`` overrides for a fast tiny-random run named ``name`` under ``run_dir``."""
    base = TINY | {
        "run.output_dir": str(run_dir), "run.name": name, "sampling.num_samples": 8, "eval.ks": "[1, 8]",
        "train.prompts_per_round": 32, "train.rft.learning_rate": 5e-3, "train.rft.epochs": 8,
        "train.keep_checkpoints": 10,
    }
    return [f"{k}={v}" for k, v in (base | extra).items()]


def as_sets(overrides: dict[str, object]) -> list[str]:
    """The command-line form of ``overrides``: ``--set key=value`` for each."""
    return [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]


def trace(pid: str, text: str, ok: bool | None, *, index: int = 0, tokens: int | None = None, round: int = 1) -> Trace:
    """A trace of the toy task, graded ``ok`` (``None``: not graded), with fake token ids and logprobs."""
    ids = list(range(tokens if tokens is not None else max(1, len(text))))
    t = Trace(problem_id=pid, task="toy", messages=[{"role": "user", "content": f"question {pid}"}], completion=text,
              completion_ids=ids, logprobs=[-0.5] * len(ids), finish_reason="stop", reference="4",
              sample_index=index, round=round)
    if ok is not None:
        t.verification = Verification.graded(ok, "4" if ok else "5", "correct" if ok else "wrong")
        t.verifier = "toy@1"
    return t


# -- the toy verifier -------------------------------------------------------------------------

def starts_with_digit(completion: str, reference: str) -> Verification:
    """Correct when the completion's first visible character is a digit (~4% for a random byte model).

    One output position decides the reward, so a few rounds of rejection-sampling fine-tuning on a
    2-layer random model move it a lot: a toy with a clear, fast learning signal.
    """
    text = completion.lstrip()
    ok = bool(text) and text[0].isdigit()
    return Verification.graded(ok, text[:1] or None, "correct" if ok else "the answer must start with a digit")
