"""Training one arm for a wall-clock budget: our loop (four arms) or TRL's GRPOTrainer.

Equal training wall-clock, evaluations off the clock, and no arm counted past its budget:

- loop arms (``ours``, ``plain_rft``, ``ours_grpo``, ``random``) run ``selfimprove train`` one
  round at a time, each in its own process (``--resume`` semantics: each call adds a round to the
  same run directory). A round starts only when the previous round of the same strategy, plus
  10%, still fits in the budget; the arm is scored at the last round that *ended* within it. The
  loop's clock (``train_wall_s``) counts sampling, verifying and updating, not its evaluations.
  A round that is sure to end past the budget is stopped there rather than run to its end (it
  could not count, and with accumulated data a second round can take 1.6x the first): from
  round 2 on, once its process has run longer than what is left of the budget plus
  :data:`STARTUP_ALLOWANCE_S` (process start and model load, off the clock) before its update
  finished, the process group is killed and the round is recorded as ``abandoned``.
- the TRL arm stops before a step that, at the last step's duration, would end past the budget.

So every arm trains for at most the budget; the record says how much of it each used, with its
optimizer steps and samples generated.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from selfimprove import configio
from selfimprove.config import Config

#: A round starts only if the last round of its strategy, times this, still fits.
ROUND_MARGIN = 1.1
#: Off-the-clock time a round's process may take before its clock starts (interpreter and
#: library start-up, loading the model and the task; about 20 s here). Generous on purpose: a
#: round is stopped only when it cannot count, however slowly its process started.
STARTUP_ALLOWANCE_S = 120.0

#: How each loop arm differs from ``ours`` (configs/benchmark_self_improve.yaml as it is).
LOOP_ARMS: dict[str, list[str]] = {
    "ours": [],
    "plain_rft": ["train.schedule=[rft]", "train.curriculum.enabled=false", "train.rft.rationalize.enabled=false",
                  "train.rft.accumulate=false", "train.rft.refine.enabled=false", "train.rft.prefer=random"],
    "ours_grpo": ["train.schedule=[grpo]"],
    "random": ["train.reward=shuffled"],  # a matched control: see selfimprove/train/random_control.py
}


def _state(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "state.json"  # read as data: TrainState.load would also reset the process's RNGs
    return json.loads(path.read_text()) if path.exists() else {"history": [], "rounds_done": 0}


def next_round_fits(history: list[dict[str, Any]], next_strategy: str, budget_s: float) -> bool:
    """Whether the next round is expected to end within the budget (see the module docstring)."""
    if not history:
        return True
    spent = history[-1]["train_wall_s"]
    durations = [(h["strategy"], h["train_wall_s"] - (history[i - 1]["train_wall_s"] if i else 0.0))
                 for i, h in enumerate(history)]
    same = [d for s, d in durations if s == next_strategy]
    expected = (same or [durations[-1][1]])[-1] * ROUND_MARGIN
    return spent + expected <= budget_s


def run_loop_arm(cfg: Config, budget_s: float) -> dict[str, Any]:
    """Train ``cfg`` round by round within ``budget_s``; continue its run directory if it exists."""
    run_dir = cfg.run_dir
    abandoned = None
    while True:
        state = _state(run_dir)
        history, done = state["history"], state["rounds_done"]
        if done >= cfg.train.rounds or not next_round_fits(history, cfg.train.strategy_for(done + 1), budget_s):
            break
        round_cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, rounds=done + 1))
        left_s = budget_s - (history[-1]["train_wall_s"] if history else 0.0)
        if not run_round(round_cfg, done + 1, left_s if done else None):
            abandoned = done + 1
            print(f"  {cfg.run.name}: round {abandoned} stopped: it would have ended past the budget", flush=True)
            break
        print(f"  {cfg.run.name}: round {done + 1} done at {_state(run_dir)['train_wall_s'] / 60:.2f} min of training",
              flush=True)
    return {**loop_arm_result(cfg, budget_s), "abandoned_round": abandoned}


def run_round(cfg: Config, round: int, left_s: float | None, poll_s: float = 1.0) -> bool:
    """Run round ``round`` of ``cfg`` (``train.rounds == round``) as ``selfimprove train`` in its own
    process group. With ``left_s`` (the budget left when it starts), stop it once it has run
    ``left_s + STARTUP_ALLOWANCE_S`` without finishing its update, and return False."""
    import os
    import subprocess
    import sys
    import tempfile

    import torch

    run_dir = cfg.run_dir
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "round.yaml"
        configio.dump(cfg, config)
        cmd = [sys.executable, "-m", "selfimprove.cli", "train", "--config", str(config)]
        if (run_dir / "config.yaml").exists():
            cmd.append("--resume")
        env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "TOKENIZERS_PARALLELISM": "false"}
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env, start_new_session=True)
        if not watch(proc, round, run_dir, left_s, poll_s):
            return False
    if proc.returncode:
        raise RuntimeError(f"round {round} of {run_dir} failed (exit {proc.returncode}); see {run_dir}/train.log")
    return True


def watch(proc, round: int, run_dir: Path, left_s: float | None, poll_s: float = 1.0) -> bool:  # noqa: ANN001
    """Wait for ``proc`` (a Popen in its own session); False if it had to be stopped (see :func:`run_round`).

    The round runs in its own session, so Ctrl-C does not reach it and nothing kills it with us:
    if waiting is interrupted, or the process that started this one exits (a killed benchmark or
    tuner), the round's process group is stopped here rather than left training on the cores."""
    import os

    started, parent = time.perf_counter(), os.getppid()
    try:
        while proc.poll() is None:
            if os.getppid() != parent:
                raise RuntimeError(f"the process that started round {round} of {run_dir} exited; round stopped")
            late = left_s is not None and time.perf_counter() - started > left_s + STARTUP_ALLOWANCE_S
            if late and f"{round}:train" not in _state(run_dir).get("completed", []):
                _kill_group(proc)
                return False
            time.sleep(poll_s)
    except BaseException:
        _kill_group(proc)
        raise
    return True


def _kill_group(proc) -> None:  # noqa: ANN001 - a Popen started in its own session
    """SIGTERM the round's whole process group (verifier workers and sandboxes too), then SIGKILL."""
    import os
    import signal
    import subprocess

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=15)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def loop_arm_result(cfg: Config, budget_s: float) -> dict[str, Any]:
    """The record of a finished loop arm: which round counts, and what it took to get there."""
    run_dir = cfg.run_dir
    history = _state(run_dir)["history"]
    scored = [h for h in history if h["train_wall_s"] <= budget_s]
    last = scored[-1] if scored else None
    manifest = run_dir / "traces" / "manifest.json"
    entries = json.loads(manifest.read_text())["files"] if manifest.exists() else []
    counted = last["round"] if last else 0
    if last is None:  # the record says so too (steps 0, checkpoint None): the base model stands in for the arm
        print(f"  {cfg.run.name}: no round ended within the {budget_s / 60:.1f}-min budget; "
              "the arm is scored as the base model", flush=True)
    samples = sum(e["rows"] for e in entries if e["phase"] != "eval" and e["round"] <= counted)
    rounds = [{"round": h["round"], "strategy": h["strategy"], "train_min": h["train_wall_s"] / 60,
               "global_step": h["global_step"], "val_pass@1": h.get("pass@1"), "counted": h["round"] <= counted}
              for h in history]
    return {
        "checkpoint": str(run_dir / "checkpoints" / f"round-{counted:03d}") if last else None,
        "train_min": last["train_wall_s"] / 60 if last else 0.0,
        "steps": last["global_step"] if last else 0,
        "samples": samples,
        "rounds": rounds,
        "config": configio.to_dict(cfg),
    }


def round_throughput(run_dir: Path) -> list[dict[str, Any]]:
    """Each round's ``throughput/*`` line from a loop run's metrics.jsonl (the share of the round
    spent verifying, e.g. in the code sandbox, is ``fraction_verify``)."""
    from selfimprove.report import read_jsonl

    return [{"round": m["round"], **{k.split("/", 1)[1]: v for k, v in m.items() if k.startswith("throughput/")}}
            for m in read_jsonl(run_dir / "metrics.jsonl") if "throughput/fraction_verify" in m]


# -- TRL GRPOTrainer ----------------------------------------------------------------------------

@dataclasses.dataclass
class TRLSettings:
    """The TRL arm as a competent user would set it (issue #12); the learning rate is swept."""

    temperature: float = 0.7
    prompts_per_step: int = 4
    num_generations: int = 8
    loss_type: str = "dapo"
    beta: float = 0.0
    epsilon: float = 0.2
    epsilon_high: float = 0.28  # clip-higher (DAPO)
    scale_rewards: str = "group"
    lr_scheduler_type: str = "constant"


def run_trl_arm(cfg: Config, train: list, lr: float, budget_s: float, out_dir: Path, settings: TRLSettings,
                reward_name: str) -> tuple[dict[str, Any], Any]:
    """GRPOTrainer from the base model for ``budget_s`` of training; saves the model to ``out_dir/model``.

    Returns (the arm's record, the trained :class:`~selfimprove.models.LoadedModel`)."""
    import datasets
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from selfimprove.models import load_model
    from selfimprove.prompts import build_messages
    from selfimprove.train.trainers import collect_garbage, release, train_quietly
    from verifiers.trl_reward import reward_function

    loaded = load_model(cfg.model.name, device=cfg.run.device, dtype=cfg.model.dtype, cache_dir=cfg.model.cache_dir,
                        seed=cfg.run.seed)
    # The problem's verifier fields go along (the code verifier needs ``entry_point``: without it,
    # it grades the last code block, and TRL's completions often end with an example-usage block).
    rows = [{"prompt": build_messages(p, cfg.task), "reference": p.reference, **p.fields} for p in train]
    counts = {"samples": 0}

    class Clock(TrainerCallback):
        """Training time only; stops before a step that would end past the budget."""

        def __init__(self) -> None:
            self.spent, self.last, self.since = 0.0, 0.0, time.perf_counter()

        def on_step_begin(self, args, state, control, **kw):
            self.since = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            self.last = time.perf_counter() - self.since
            self.spent += self.last
            control.should_training_stop = self.spent + self.last > budget_s
            return control

    with dataclasses.replace(cfg.verifier, name=reward_name).runtime() as runtime:
        score = reward_function(runtime)

        def reward(prompts, completions, **kwargs):
            counts["samples"] += len(completions)
            return score(prompts, completions, **kwargs)

        reward.__name__ = score.__name__
        s = settings
        args = GRPOConfig(
            output_dir=str(out_dir / "trainer"), report_to=[], save_strategy="no", logging_steps=1, disable_tqdm=True,
            use_cpu=cfg.run.device == "cpu", bf16=False, seed=cfg.run.seed, max_steps=10**6, learning_rate=lr,
            lr_scheduler_type=s.lr_scheduler_type, warmup_steps=0, temperature=s.temperature, top_p=1.0,
            num_generations=s.num_generations, per_device_train_batch_size=s.prompts_per_step * s.num_generations,
            loss_type=s.loss_type, beta=s.beta, epsilon=s.epsilon, epsilon_high=s.epsilon_high,
            scale_rewards=s.scale_rewards, max_completion_length=cfg.sampling.max_new_tokens,
        )
        clock = Clock()
        trainer = GRPOTrainer(model=loaded.model, reward_funcs=[reward], args=args,
                              train_dataset=datasets.Dataset.from_list(rows), processing_class=loaded.tokenizer,
                              callbacks=[clock])
        train_quietly(trainer, "trl-grpo")
        history = trainer.state.log_history
        steps = trainer.state.global_step
        release(trainer, keep=loaded.model)
        del trainer
        collect_garbage()
    loaded.model.eval()
    loaded.tokenizer.padding_side = "left"  # for our engine; TRL's generation may have changed it
    model_dir = out_dir / "model"
    loaded.model.save_pretrained(model_dir, safe_serialization=True)
    loaded.tokenizer.save_pretrained(model_dir)
    rewards = [e["reward"] for e in history if "reward" in e]
    return {
        "checkpoint": str(model_dir), "learning_rate": lr, "train_min": clock.spent / 60, "steps": steps,
        "over_budget": clock.spent > budget_s,  # only when a step ran longer than the one before it
        "samples": counts["samples"], "reward_first_last": [rewards[:5], rewards[-5:]],
        "config": {"trl": _jsonable(args.to_dict()), "settings": dataclasses.asdict(s), "reward": reward_name,
                   "model": cfg.model.name, "task_prompt_template": cfg.task.prompt_template},
    }, loaded


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if isinstance(v, (str, int, float, bool, type(None), list, dict))}
