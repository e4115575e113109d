"""Turn a problem into chat messages, for first attempts, hinted attempts and revisions."""

from __future__ import annotations

from selfimprove.config import TaskConfig
from selfimprove.tasks.base import Problem

HINT_SUFFIX = "\n(Hint: the correct final answer is {answer}. Explain the reasoning that leads to it.)"


def build_messages(problem: Problem, task: TaskConfig, *, hint: bool = False) -> list[dict[str, str]]:
    """System (optional) + user message from ``task.prompt_template``.

    With ``hint`` the reference answer is appended (STaR rationalization); the loop trains on
    such traces with the messages rebuilt *without* the hint.
    """
    user = task.prompt_template.format(question=problem.prompt)
    if hint:
        user += HINT_SUFFIX.format(answer=problem.reference)
    messages = [{"role": "user", "content": user}]
    if task.system_prompt:
        messages.insert(0, {"role": "system", "content": task.system_prompt})
    return messages
