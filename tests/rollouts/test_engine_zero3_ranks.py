"""The HF engine on several ranks while DeepSpeed ZeRO-3 is configured (issue #28, item 3).

With ZeRO-3 configured and more than one rank, transformers' ``generate`` turns on ``synced_gpus``
(an all-reduce per decoding step) and our engine used ``generate`` for it, while GRPO's ranks call
the engine unevenly (refinement only where a rank has failed attempts, fresh sampling only for
groups not served from the cache). Here rank 0 samples twice and rank 1 once: before the fix rank
0's second call waited for a peer that never came. The weights are whole on every rank (as the
loop's consolidated policy and TRL's gathered ``rollout_func`` weights are), so each rank decodes alone.
"""

from __future__ import annotations

import pytest

from rollouts.engine import RolloutEngine, RolloutRequest, SamplingParams, _check_gathered
from tests.launch.helpers import run_two_ranks

_UNEVEN = """
import datetime, sys
import torch.distributed as dist
from transformers.integrations import HfDeepSpeedConfig
from rollouts.engine import RolloutEngine, RolloutRequest, SamplingParams
from selfimprove.models import load_model

rank, compact = int(sys.argv[1]), sys.argv[2] == "compact"
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
ds = HfDeepSpeedConfig({"zero_optimization": {"stage": 3}, "train_micro_batch_size_per_gpu": 1})  # ZeRO-3 on
tiny = load_model("tiny-random", device="cpu", seed=0)
engine = RolloutEngine(tiny.model, tiny.tokenizer, SamplingParams(num_samples=2, max_new_tokens=6, compact=compact),
                       seed=rank, progress=False)
request = RolloutRequest(problem_id="p", messages=[{"role": "user", "content": "1+1"}], reference="2")
for _ in range(2 if rank == 0 else 1):
    engine.generate([request])
print("SAMPLED", rank)
dist.barrier()
dist.destroy_process_group()
"""


@pytest.mark.parametrize("decode", ["compact", "generate"])
def test_ranks_calling_generate_unevenly_under_zero3_do_not_wait_for_each_other(tmp_path, decode):
    run_two_ranks(_UNEVEN, [decode], tmp_path)


def test_sampling_from_partitioned_weights_is_refused(tiny):
    from deepspeed.runtime.zero.partition_parameters import ZeroParamStatus

    param = next(tiny.model.parameters())
    param.ds_status = ZeroParamStatus.NOT_AVAILABLE  # what a ZeRO-3 parameter outside GatheredParameters says
    try:
        with pytest.raises(RuntimeError, match="partitioned by DeepSpeed ZeRO-3; gather them first"):
            RolloutEngine(tiny.model, tiny.tokenizer, SamplingParams(max_new_tokens=2), progress=False).generate(
                [RolloutRequest(problem_id="p", messages=[{"role": "user", "content": "1"}], reference="1")])
        param.ds_status = ZeroParamStatus.AVAILABLE  # gathered: fine
        _check_gathered(tiny.model)
    finally:
        del param.ds_status
