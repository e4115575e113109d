"""A dataclass field that carries its help text: the one helper for every config section.

The ``sampling`` and ``rollouts`` sections (:mod:`rollouts.params`, :mod:`rollouts.config`) and
the rest of the run config (:mod:`selfimprove.config`, :mod:`selfimprove.train.config`)
declare their fields with it; ``selfimprove --help`` and the docs read ``metadata["help"]``.
It lives here, not in ``selfimprove``, because ``rollouts`` does not import ``selfimprove``.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def field(default: Any = dataclasses.MISSING, *, help: str, factory: Any = dataclasses.MISSING) -> Any:
    """``dataclasses.field`` with ``default`` or ``factory`` (a default_factory) and the help text."""
    return dataclasses.field(default=default, default_factory=factory, metadata={"help": help})
