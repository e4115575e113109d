"""Name the trainer's current weights for the rollout engine before every GRPO generation.

TRL's GRPOTrainer calls ``rollout_func(prompts, trainer)`` once per generation batch, N optimizer
steps into the round. :func:`versioned` names the weights of that moment ``<policy>@step<N>``
(the plain policy name before the first step, when they are the round's starting weights) on the engine, which stamps the name on every trace. The vLLM engine re-loads
its weights from the trainer's model whenever the name changes, i.e. after every optimizer step;
the HF engine samples from the trainer's model anyway.
"""

from __future__ import annotations

from typing import Any, Callable


def versioned(rollout_func: Callable[..., dict], engine: Any, policy: str, start: int = 0) -> Callable[..., dict]:
    """``start``: the trainer's global step when the round began (a stretch's optimizer carries on)."""

    def call(prompts: list[Any], trainer: Any = None) -> dict:
        step = trainer.state.global_step - start if trainer is not None else 0
        engine.policy = policy if step == 0 else f"{policy}@step{step}"
        return rollout_func(prompts, trainer)

    return call
