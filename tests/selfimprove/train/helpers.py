"""Small builders shared by the train tests: graded traces without a model."""

from rollouts.trace import Trace
from verifiers.base import Verification


def trace(pid: str, text: str, ok: bool | None, *, index: int = 0, tokens: int | None = None, round: int = 1) -> Trace:
    ids = list(range(tokens if tokens is not None else max(1, len(text))))
    t = Trace(problem_id=pid, task="toy", messages=[{"role": "user", "content": f"question {pid}"}], completion=text,
              completion_ids=ids, logprobs=[-0.5] * len(ids), finish_reason="stop", reference="4",
              sample_index=index, round=round)
    if ok is not None:
        t.verification = Verification.graded(ok, "4" if ok else "5", "correct" if ok else "wrong")
        t.verifier = "toy@1"
    return t


def tiny_overrides(run_dir, name: str, **extra: object) -> list[str]:
    """--set overrides for a fast tiny-random run on the toy "starts with a digit" verifier."""
    base = {
        "model.name": "tiny-random", "run.output_dir": str(run_dir), "run.name": name, "run.device": "cpu",
        "verifier.name": "tests.selfimprove.train.toy:starts_with_digit", "verifier.workers": 1,
        "task.ops": "['-']", "task.num_train": 38, "task.num_test": 16, "sampling.max_new_tokens": 6, "sampling.num_samples": 8,
        "sampling.temperature": 1.0, "eval.ks": "[1, 8]", "train.prompts_per_round": 32, "train.rft.samples_per_prompt": 8,
        "train.rft.rationalize.enabled": False, "train.rft.learning_rate": 5e-3, "train.rft.epochs": 8,
        "train.rft.batch_size": 8, "train.keep_checkpoints": 10,
    }
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]
