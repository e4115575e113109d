"""The run configuration: one typed schema, one docstring (``help``) per field.

Load with :func:`load_config` (YAML file + ``--set section.key=value`` overrides). A misspelled
key or a wrong type fails at load time, naming the key, the file, and the closest valid key.
``selfimprove config-reference`` prints every key with its type, default and help.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from selfimprove import configio
from selfimprove.configio import ConfigError
from rollouts.config import RolloutsConfig
from rollouts.fields import field
from rollouts.params import SamplingParams
from selfimprove.train.config import MOVED_KEYS, TrainConfig

if TYPE_CHECKING:
    from verifiers.runtime import VerifierRuntime

DEFAULT_PROMPT = "{question}\nThink step by step, then give the final answer in \\boxed{{}}."


@dataclasses.dataclass
class RunConfig:
    name: str = field("auto", help="Run name; the run directory is <output_dir>/<name>. 'auto': <config stem>-<time>.")
    output_dir: str = field("runs", help="Parent directory of run directories.")
    seed: int = field(0, help="Seed for sampling, task generation and training.")
    device: str = field("auto", help="'auto' (cuda if available, else cpu), 'cpu', 'cuda', 'cuda:1', ...")
    overwrite: bool = field(False, help="Reuse an existing run directory, replacing its outputs.")


@dataclasses.dataclass
class ModelConfig:
    name: str = field(
        "builtin:smollm2-135m-instruct",
        help="'builtin:smollm2-135m-instruct' (embedded, CPU-friendly), 'tiny-random' (a 2-layer random "
        "model for tests), a local directory, or a Hugging Face hub id.",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = field(
        "auto", help="Weights dtype; 'auto' = float32 on CPU, bfloat16 on GPU."
    )
    cache_dir: str = field(
        "~/.cache/selfimprove",
        help="Where built-in models are converted and cached (also $SELFIMPROVE_CACHE).",
    )


@dataclasses.dataclass
class TaskConfig:
    name: str = field(
        "arithmetic",
        help="Task family: arithmetic, equations, code (procedural); gsm8k, jsonl, parquet, hf (loaders); "
        "humaneval, mbpp (code problems).",
    )
    ops: list[str] = field(factory=lambda: ["+"], help="arithmetic: operators to draw from (+, -, *).")
    digits: int = field(1, help="arithmetic / equations: digits per operand (difficulty knob).")
    operand_digits: list[int] | None = field(
        None, help="arithmetic: digits of each operand, e.g. [2, 1] for 2-digit x 1-digit (shown in random order "
        "for + and *); None = task.digits for both.")
    num_train: int = field(200, help="Procedural tasks: problems in the train split.")
    num_test: int = field(50, help="Procedural tasks: problems in the held-out test split.")
    seed: int = field(1234, help="Seed of the task generator (splits share no problem, up to equivalent rewrites, for any seed).")
    path: str | None = field(None, help="Loaders: a .jsonl / .parquet file, a directory, or a hub dataset name.")
    train_split: str = field("train", help="Loaders: split or file stem used for training.")
    test_split: str = field("test", help="Loaders: split or file stem used for evaluation.")
    held_out: Literal["parametric", "template", "humaneval", "mbpp", "dev_parametric", "dev_template"] = field(
        "parametric",
        help="code: the test set. 'parametric' (trained templates, unseen parameters), 'template' (templates never "
        "trained on), 'humaneval' (HumanEval, test-only), 'mbpp' (the MBPP-style JSONL at task.path); the train "
        "split is the same for all four. 'dev_parametric', 'dev_template': the dev split, for tuning (needs "
        "task.dev_split).",
    )
    dev_split: bool = field(
        False, help="code: hold the dev split (selfimprove.tasks.code_dev) out of the train split, as a tuning run "
        "(benchmarks/tune_code.py) must; false leaves the benchmark's splits as they are.")
    question_column: str = field("question", help="Loaders: column holding the problem text.")
    answer_column: str = field("answer", help="Loaders: column holding the gold answer.")
    answer_format: Literal["auto", "plain", "gsm8k", "boxed"] = field(
        "auto",
        help="Loaders: how to read the gold answer: 'gsm8k' (last line '#### n'), 'boxed' (last \\boxed{}), "
        "'plain' (as is), 'auto' (detect per row).",
    )
    prompt_template: str = field(DEFAULT_PROMPT, help="User message; {question} is replaced by the problem.")
    system_prompt: str | None = field(None, help="Optional system message.")

    def __post_init__(self) -> None:
        if self.dev_split and self.name != "code":
            raise ValueError(f"dev_split is an option of task.name 'code', not {self.name!r}; remove task.dev_split")
        if self.held_out.startswith("dev_") and not self.dev_split:
            raise ValueError(f"held_out {self.held_out!r} needs dev_split: true, or the train split holds the dev "
                             "problems; set task.dev_split=true")


@dataclasses.dataclass
class VerifierConfig:
    name: str = field("math", help="Verifier: a built-in name (math, code, exact, format, strict = another verifier "
                      "that also requires \\boxed{}), a plug-in name, or module:callable.")
    options: dict[str, Any] = field(factory=dict, help="Keyword options passed to the verifier's factory.")
    workers: int = field(2, help="Verification processes.")
    deadline_s: float = field(10.0, help="Hard wall-clock limit per verification; past it the status is 'timeout'.")

    def runtime(self) -> VerifierRuntime:
        """The verifier runtime this section describes: the one place a runtime is built from config
        (``selfimprove train``, ``eval`` and ``verify``, and the benchmarks)."""
        from verifiers.runtime import VerifierRuntime

        return VerifierRuntime(self.name, dict(self.options), workers=self.workers, deadline_s=self.deadline_s)


@dataclasses.dataclass
class EvalConfig:
    max_problems: int | None = field(None, help="Evaluate at most this many test problems (None = all).")
    ks: list[int] = field(factory=lambda: [1, 8], help="pass@k values to report (k <= sampling.num_samples).")


@dataclasses.dataclass
class LoggingConfig:
    wandb: bool = field(False, help="Also log to Weights & Biases (WANDB_MODE=offline works without network).")
    project: str = field("selfimprove", help="W&B project.")
    group: str | None = field(None, help="W&B group: runs of one experiment, compared side by side.")
    sample_traces: int = field(8, help="Traces per round shown in the sample table (prompt, completion, verdict).")


@dataclasses.dataclass
class Config:
    run: RunConfig = field(factory=RunConfig, help="Run identity and outputs.")
    model: ModelConfig = field(factory=ModelConfig, help="The policy model.")
    task: TaskConfig = field(factory=TaskConfig, help="Problems to train and evaluate on.")
    sampling: SamplingParams = field(factory=SamplingParams, help="Rollout sampling (rollouts.params.SamplingParams).")
    rollouts: RolloutsConfig = field(factory=RolloutsConfig, help="Rollout engine: backend hf | vllm (rollouts.config).")
    verifier: VerifierConfig = field(factory=VerifierConfig, help="How completions are graded.")
    eval: EvalConfig = field(factory=EvalConfig, help="Held-out evaluation.")
    logging: LoggingConfig = field(factory=LoggingConfig, help="Metrics backends.")
    train: TrainConfig = field(factory=TrainConfig, help="The self-improvement loop (selfimprove train).")

    @property
    def run_dir(self) -> Path:
        return Path(self.run.output_dir) / self.run.name


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """Load and validate a run config. Raises :class:`ConfigError` naming every bad key, and every
    value that cannot work (:mod:`selfimprove.config_checks`)."""
    from selfimprove import config_checks

    config = configio.load(Config, path, overrides, moved=MOVED_KEYS)
    if problems := config_checks.problems(config):
        raise ConfigError([f"config error in {path or '<defaults>'}: {p}" for p in problems])
    return config


__all__ = ["Config", "ConfigError", "load_config"]
