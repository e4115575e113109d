"""A TRL ``GRPOTrainer`` reward function backed by a :class:`~verifiers.runtime.VerifierRuntime`.

    reward = reward_function(VerifierRuntime("math", workers=2))
    GRPOTrainer(model=..., reward_funcs=[reward], ...)

TRL calls it with the prompts, the completions (strings, or message lists for conversational
data) and every other dataset column as keyword lists; the reference column becomes each item's
reference, and the simple-valued columns the verifier accepts become its fields.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from verifiers.runtime import VerifierRuntime, VerifyItem


def _completion_text(completion: Any) -> str:
    """A plain string, or the last message's content of a conversational completion."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content", "")
        if isinstance(content, list):  # multimodal-style content parts
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content)
    raise TypeError(f"completion must be a string or a list of messages, got {type(completion).__name__}")


_FIELD_TYPES = (str, int, float, bool, type(None))


def _accepted_fields(verifier: Any) -> tuple[bool, frozenset[str]]:
    """(takes ``**fields``, named keyword parameters) of a verifier's call signature."""
    try:
        params = inspect.signature(verifier).parameters.values()
    except (TypeError, ValueError):
        return True, frozenset()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return True, frozenset()
    return False, frozenset(p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def reward_function(runtime: VerifierRuntime, reference_column: str = "reference") -> Callable[..., list[float]]:
    """A TRL ``GRPOTrainer`` reward function backed by ``runtime``.

    ``reward_func(prompts, completions, **kwargs)`` reads references from
    ``kwargs[reference_column]`` and passes the other per-sample dataset columns with simple
    values (str / int / float / bool / None) to the verifier as fields. The reward is the
    verification score: 0 for wrong *and* for invalid / error / timeout, but those are counted
    in ``runtime.counts`` (and errors/timeouts logged), never silently folded into "wrong".
    """

    accepts_all, accepted = _accepted_fields(runtime.verifier)

    def reward_func(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        if reference_column not in kwargs:
            raise KeyError(f"reward function '{runtime.identity}': the dataset has no column "
                           f"'{reference_column}' (columns passed: {sorted(kwargs)}); set reference_column")
        references = kwargs[reference_column]
        n = len(completions)
        columns = {k: v for k, v in kwargs.items()
                   if k != reference_column and (accepts_all or k in accepted)
                   and isinstance(v, list) and len(v) == n and all(isinstance(x, _FIELD_TYPES) for x in v)}
        items = [VerifyItem(_completion_text(c), references[i], {k: v[i] for k, v in columns.items()})
                 for i, c in enumerate(completions)]
        return [r.score for r in runtime.verify_batch(items)]

    reward_func.__name__ = f"{runtime.name}_reward".replace(":", "_").replace(".", "_")
    reward_func.__qualname__ = reward_func.__name__
    return reward_func
