"""``selfimprove train`` with probes, for the multi-rank ZeRO tests (run as ``--entry tests.launch.zero_probe``).

Each rank writes ``<run dir>/probe-rank<R>.json`` with

- ``gathers``: DeepSpeed parameter all-gathers issued during each GRPO ``rollout_func`` call,
  the decoding steps that call took (max new tokens of its samples) and the model's parameter
  tensors;
- ``peak_rss_mb``: per round, the process's peak resident memory during collect + update
  (``VmHWM``, reset at each round's start through ``/proc/self/clear_refs``);
- ``trainers_alive``: when each trainer starts, how many earlier trainers are still alive
  (weak references; no ``gc.collect()`` here: releasing them is the code's job).
"""

from __future__ import annotations

import json
import sys
import weakref
from pathlib import Path

import deepspeed.comm as ds_comm

from selfimprove import cli, distributed
from selfimprove.train import loop, rollout_source
from selfimprove.train.strategies import grpo, rft

probe = {"gathers": [], "peak_rss_mb": {}, "trainers_alive": []}
_gathers = {"on": False, "n": 0}
_trainers: list[weakref.ref] = []


def _counting(fn):
    def wrapper(*args, **kwargs):
        if _gathers["on"]:
            _gathers["n"] += 1
        return fn(*args, **kwargs)
    return wrapper


for _name in ("allgather_fn", "all_gather_into_tensor", "all_gather", "all_gather_coalesced"):
    if hasattr(ds_comm, _name):
        setattr(ds_comm, _name, _counting(getattr(ds_comm, _name)))

_call = rollout_source.RolloutSource.__call__


def _counted_call(self, prompts, trainer=None):
    _gathers.update(on=True, n=0)
    try:
        out = _call(self, prompts, trainer)
    finally:
        _gathers["on"] = False
    steps = max((len(ids) for ids in out["completion_ids"]), default=0)
    params = len(list(trainer.model.parameters())) if trainer is not None else 0
    probe["gathers"].append({"all_gathers": _gathers["n"], "decoding_steps": steps, "parameters": params})
    return out


rollout_source.RolloutSource.__call__ = _counted_call


def _vm(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


_strategy, _train = loop.Loop.strategy, loop.Loop.train


def _round_start(self, round):
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    return _strategy(self, round)


def _round_end(self, round, strategy, data):
    _train(self, round, strategy, data)
    probe["peak_rss_mb"][round] = _vm("VmHWM")
    w = distributed.world()
    (self.run_dir / f"probe-rank{w.rank}.json").write_text(json.dumps(probe))


loop.Loop.strategy, loop.Loop.train = _round_start, _round_end

for _module in (rft, grpo):
    def _recording(trainer, *args, _original=_module.train_quietly, **kwargs):
        probe["trainers_alive"].append(sum(ref() is not None for ref in _trainers))
        _trainers.append(weakref.ref(trainer))
        return _original(trainer, *args, **kwargs)

    _module.train_quietly = _recording

if __name__ == "__main__":
    sys.exit(cli.main())
