"""The Trace record: one sampled attempt at one problem, with everything needed to reuse it.

A trace holds the prompt (chat messages), the completion (text, token ids, per-token
logprobs), earlier turns of a multi-turn refinement, the sampling parameters, the policy
identity (round, checkpoint) and, once graded, the verification. :func:`to_row` gives a flat,
Arrow-friendly dict so a round's traces form a ``datasets.Dataset`` / Parquet file, and
:func:`arrow_schema` is the one schema every Parquet file of traces is written with.

``logprobs`` are log-probabilities of the sampled tokens under the distribution they were
*sampled from*: softmax(logits / temperature), restricted to the top-p nucleus and renormalised
(raw logits when greedy). Both backends record exactly this (vLLM's ``processed_logprobs``), and
it is what TRL's GRPOTrainer expects from a ``rollout_func`` as ``sampling_per_token_logps``: TRL
recomputes the policy's logprobs as log_softmax(logits / temperature), equal to ours when
``top_p`` is 1 (the default); with a nucleus, ours are higher by -log(nucleus mass), as from TRL's
own vLLM path. (TRL 1.16 uses them for its off-policy mask, ``off_policy_mask_threshold``; its
vLLM importance-sampling correction runs only when TRL drives vLLM itself.) ``None`` when unknown.

``policy`` is the identity of the weights that produced the trace, as the engine knew them when
it sampled (not as the caller hoped): the model name or checkpoint path, plus ``@step<N>`` for
samples drawn N optimizer steps into an update (GRPO's ``rollout_func``). A vLLM engine stamps
the identity of the weights it last loaded, so a trace from a stale engine is detectable.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from verifiers.base import Verification


@dataclasses.dataclass
class Turn:
    """An earlier attempt in a refinement episode and the feedback it received."""

    completion: str
    feedback: str
    status: str


@dataclasses.dataclass
class Trace:
    problem_id: str
    task: str
    messages: list[dict[str, str]]  # the prompt, as chat messages (refinement turns included)
    completion: str
    completion_ids: list[int]
    logprobs: list[float] | None
    finish_reason: str  # "stop" (EOS or a stop string) or "length"
    reference: Any
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    sample_index: int = 0
    turns: list[Turn] = dataclasses.field(default_factory=list)
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 0
    round: int = 0
    policy: str = "base"  # weights identity: model name or checkpoint path [+ "@step<N>"]
    seed: int = 0
    hint: bool = False  # sampled with the reference as a hint (STaR rationalization)
    verification: Verification | None = None
    verifier: str | None = None  # "name@version"

    @property
    def num_tokens(self) -> int:
        return len(self.completion_ids)


def to_row(trace: Trace) -> dict[str, Any]:
    """A flat dict with a fixed schema (JSON-encoded where a column's type would vary)."""
    v = trace.verification
    return {
        "problem_id": trace.problem_id,
        "task": trace.task,
        "messages": trace.messages,
        "completion": trace.completion,
        "completion_ids": trace.completion_ids,
        "logprobs": trace.logprobs,
        "num_tokens": trace.num_tokens,
        "finish_reason": trace.finish_reason,
        "reference_json": json.dumps(trace.reference),
        "fields_json": json.dumps(trace.fields, default=str),
        "sample_index": trace.sample_index,
        "turns": [dataclasses.asdict(t) for t in trace.turns],
        "temperature": trace.temperature,
        "top_p": trace.top_p,
        "max_new_tokens": trace.max_new_tokens,
        "round": trace.round,
        "policy": trace.policy,
        "seed": trace.seed,
        "hint": trace.hint,
        "status": v.status.value if v else None,
        "score": v.score if v else None,
        "extracted": v.extracted if v else None,
        "feedback": v.feedback if v else None,
        "verifier": trace.verifier,
    }


def arrow_schema():
    """The Arrow schema of a stored trace row: :func:`to_row`'s columns plus the provenance a
    store adds (``phase``, ``kept`` for training, the phase's ``sampling_json``).

    Fixed, not inferred, so files whose optional columns happen to be all null still
    concatenate, and traces written by ``selfimprove eval`` and ``selfimprove train`` match.
    """
    import pyarrow as pa

    s, i, f, b = pa.string(), pa.int64(), pa.float64(), pa.bool_()
    message = pa.struct([("role", s), ("content", s)])
    turn = pa.struct([("completion", s), ("feedback", s), ("status", s)])
    return pa.schema([
        ("problem_id", s), ("task", s), ("messages", pa.list_(message)), ("completion", s),
        ("completion_ids", pa.list_(i)), ("logprobs", pa.list_(f)), ("num_tokens", i), ("finish_reason", s),
        ("reference_json", s), ("fields_json", s), ("sample_index", i), ("turns", pa.list_(turn)),
        ("temperature", f), ("top_p", f), ("max_new_tokens", i), ("round", i), ("policy", s), ("seed", i),
        ("hint", b), ("status", s), ("score", f), ("extracted", s), ("feedback", s), ("verifier", s),
        ("phase", s), ("kept", b), ("sampling_json", s),
    ])


def from_row(row: dict[str, Any]) -> Trace:
    verification = None
    if row.get("status") is not None:
        verification = Verification.from_dict(row)
    return Trace(
        problem_id=row["problem_id"], task=row["task"], messages=list(row["messages"]),
        completion=row["completion"], completion_ids=list(row["completion_ids"]),
        logprobs=list(row["logprobs"]) if row.get("logprobs") is not None else None,
        finish_reason=row["finish_reason"], reference=json.loads(row["reference_json"]),
        fields=json.loads(row["fields_json"]), sample_index=row["sample_index"],
        turns=[Turn(**t) for t in row.get("turns") or []], temperature=row["temperature"], top_p=row["top_p"],
        max_new_tokens=row["max_new_tokens"], round=row["round"], policy=row["policy"], seed=row["seed"],
        hint=row.get("hint", False), verification=verification, verifier=row.get("verifier"),
    )
