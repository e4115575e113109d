"""The ``selfimprove`` command line. Each subcommand is a thin wrapper over a library function."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from typing import Callable

from selfimprove import __version__

EPILOG = """\
config files are YAML; every key, its type, default and meaning: `selfimprove config-reference`.
examples:
  selfimprove eval --config configs/quickstart.yaml
  selfimprove train --config configs/quickstart.yaml --set run.name=qs
  selfimprove train --config configs/quickstart.yaml --set run.name=qs --resume
  selfimprove eval --config configs/quickstart.yaml --set sampling.num_samples=4 --set eval.max_problems=10
  selfimprove verify --verifier math --input attempts.jsonl --output graded.jsonl
"""


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", metavar="FILE", help="YAML run config (default: built-in defaults)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value, parsed as YAML (repeatable), e.g. --set sampling.temperature=0.5")


def _load(args: argparse.Namespace):
    from selfimprove import rundir
    from selfimprove.config import load_config

    return rundir.name_unnamed(load_config(args.config, args.overrides), args.config)


def cmd_eval(args: argparse.Namespace) -> int:
    from selfimprove.evaluate import run_eval

    run_eval(_load(args))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from selfimprove import distributed, rundir
    from selfimprove.train import preemption
    from selfimprove.train.loop import run_train

    if args.resume == "yes":
        from selfimprove.config import load_config
        from selfimprove.rundir import RunDirError

        if load_config(args.config, args.overrides).run.name in ("", "auto"):
            raise RunDirError("--resume needs the run's name: add --set run.name=<the name of the run directory>")
    cfg = _load(args)
    resume = args.resume == "yes"
    if args.resume == "auto":  # rank 0 decides, before any rank's start writes to the directory
        distributed.init()
        resume = distributed.broadcast_object(cfg.run_dir.is_dir() and not rundir.holds_no_phase(cfg.run_dir))
    try:
        with preemption.handle_signals(_resume_command(args, cfg), announce=distributed.world().is_main):
            run_train(cfg, resume=resume)
    except preemption.Preempted as exc:  # stopped at a safe point: every rank got here at the same one
        if distributed.world().is_main:
            print(f"selfimprove train: {exc}", file=sys.stderr, flush=True)
        distributed.shutdown()
        return preemption.EXIT_CODE
    return 0


def _resume_command(args: argparse.Namespace, cfg) -> str:  # noqa: ANN001 - a Config
    """The command that continues this run: its config file, its overrides with the run's name, --resume."""
    import shlex

    from selfimprove import distributed

    sets = [o for o in args.overrides if not o.startswith("run.name=")] + [f"run.name={cfg.run.name}"]
    cmd = ["selfimprove", "train", *(["--config", args.config] if args.config else []),
           *[a for o in sets for a in ("--set", o)], "--resume"]
    return shlex.join(cmd) + (" (under the same launcher)" if distributed.world().distributed else "")


def cmd_verify(args: argparse.Namespace) -> int:
    from selfimprove.config import VerifierConfig
    from selfimprove.verify_cli import run_verify

    verifier = VerifierConfig(args.verifier, dict(_parse_option(o) for o in args.option), args.workers, args.deadline)
    return run_verify(verifier, args.input, args.output)


def cmd_report(args: argparse.Namespace) -> int:
    from selfimprove.report import build_report

    print(f"wrote {build_report(args.run_dir)}")
    return 0


def cmd_config_reference(args: argparse.Namespace) -> int:
    from selfimprove import configio
    from selfimprove.config import Config

    if args.markdown:
        print(configio.reference_markdown(Config), end="")
        return 0
    for key, tp, default, help_text in configio.describe(Config):
        print(f"{key}  ({tp}, default: {default!r})")
        print(textwrap.indent(textwrap.fill(help_text, 88), "    "))
    return 0


def _parse_option(text: str) -> tuple[str, object]:
    import yaml

    key, sep, value = text.partition("=")
    if not sep:
        raise SystemExit(f"selfimprove verify: --option {text!r} must look like key=value")
    return key, yaml.safe_load(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfimprove",
        description="Train language models to reason better from their own verified attempts.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"selfimprove {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("eval", help="evaluate a model on a task's held-out split (pass@k, format, lengths)",
                       description="Sample sampling.num_samples completions per held-out problem, grade them with "
                       "the configured verifier, print a table and write traces (Parquet) and metrics.json "
                       "under <run.output_dir>/<run.name>.")
    _add_config_args(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="run self-improvement rounds: sample, verify, select, update, evaluate",
                       description="Each round, the round's strategy from train.schedule samples attempts with the "
                       "current policy and grades them (rft: keeps verified traces, with rationalization and refinement; "
                       "grpo: keeps reward-variance groups), updates the policy (rft: TRL SFTTrainer, grpo: TRL "
                       "GRPOTrainer; options under train.rft / train.grpo) and evaluates pass@k on the held-out "
                       "split. Every trace goes to <run dir>/traces (Parquet), the log to <run dir>/train.log; --resume "
                       "continues an interrupted run from its last completed phase. On SIGTERM or SIGUSR1 the run "
                       "stops at its next safe point (before a phase, or after an optimizer step), says how to resume "
                       "and exits with code 75.")
    _add_config_args(p)
    p.add_argument("--resume", nargs="?", const="yes", choices=("yes", "auto"),
                   help="continue the run named by run.name from its last completed phase (same config); "
                   "'--resume auto': continue it if its directory holds one, else start it (a requeued job)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("verify", help="grade a JSONL file of completions with any verifier",
                       description="Each input line is a JSON object with 'completion' and 'reference' (plus any "
                       "extra fields the verifier takes, e.g. 'entry_point'). Each output line is the input plus "
                       "'status', 'score', 'extracted' and 'feedback'. Prints counts by status. Exit code 0 "
                       "when every line was graded or marked invalid/error/timeout; 2 on bad input.")
    p.add_argument("--verifier", required=True, metavar="NAME",
                   help="built-in name (math, code, exact, format), plug-in name, or module:callable")
    p.add_argument("--input", "-i", required=True, metavar="IN.jsonl", help="completions to grade")
    p.add_argument("--output", "-o", required=True, metavar="OUT.jsonl", help="where graded lines go (written atomically)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="verifier option, parsed as YAML (repeatable), e.g. --option rel_tol=1e-6")
    p.add_argument("--workers", type=int, default=2, help="verification processes (default: 2)")
    p.add_argument("--deadline", type=float, default=10.0, metavar="SECONDS",
                   help="hard wall-clock limit per item; past it the status is 'timeout' (default: 10)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("report", help="plots (PNG) and a self-contained HTML page from a run directory",
                       description="Reads RUN_DIR/metrics.jsonl, state.json, metrics.json, config.yaml and tables/ and "
                       "writes RUN_DIR/report/index.html (first: pass@1 before -> after, rounds, time, settings, "
                       "checkpoints; then charts and traces; images inlined, works offline) and its PNG plots.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. runs/quickstart-20261123-101500")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("config-reference", help="print every config key with its type, default and help")
    p.add_argument("--markdown", action="store_true", help="as the Markdown table in docs/pages/config-reference.md")
    p.set_defaults(func=cmd_config_reference)
    return parser


def _friendly_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message names the culprit and the fix: printed as is, without a traceback
    (a run's ``train.log`` has it)."""
    from selfimprove.atomic import DiskFullError
    from selfimprove.configio import ConfigError
    from selfimprove.datafiles import FileFormatError
    from selfimprove.models import ModelLoadError
    from selfimprove.report import ReportError
    from selfimprove.rundir import RunDirError
    from selfimprove.tasks.base import TaskError
    from selfimprove.store import StoreError
    from selfimprove.train.strategies import UnknownStrategyError
    from selfimprove.train.empty_rounds import NothingToLearnError
    from selfimprove.train.trainers import NonFiniteUpdateError
    from selfimprove.verify_cli import VerifyInputError
    from verifiers.registry import UnknownVerifierError

    return (ConfigError, ModelLoadError, RunDirError, TaskError, UnknownVerifierError, VerifyInputError, StoreError,
            UnknownStrategyError, ReportError, FileFormatError, DiskFullError, NonFiniteUpdateError,
            NothingToLearnError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.command in ("eval", "train"):
        _quiet_libraries()
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        code = func(args)
        if args.command in ("eval", "train"):
            from selfimprove import distributed

            distributed.shutdown()
        return code
    except _friendly_errors() as exc:
        if args.verbose:
            raise
        print(f"selfimprove {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _quiet_libraries() -> None:
    """Silence third-party chatter that buries our own output and that a user cannot act on."""
    import torch
    import transformers

    if not torch.cuda.is_available():
        # DeepSpeed (imported by TRL) otherwise warns on every start that it fell back to the CPU.
        os.environ.setdefault("DS_ACCELERATOR", "cpu")

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


if __name__ == "__main__":
    sys.exit(main())
