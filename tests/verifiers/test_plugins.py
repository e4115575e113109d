"""Verifiers plug in without forking: entry points, module:callable paths, and clear errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verifiers.base import Status, Verification
from verifiers.registry import UnknownVerifierError, available, build_verifier

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "example_verifier"


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """pip-install the example package into a private target dir (the test venv stays untouched)."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / "example_verifier"
    shutil.copytree(FIXTURE, source)  # the build writes next to the sources; keep the repo clean
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-qq", "--no-deps", "--no-index", "--no-build-isolation", "--target", str(target),
         str(source)],
        check=True, capture_output=True, text=True,
    )
    return target


def run_with(target, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)


def test_installed_plugin_is_found_by_name_and_used_by_verify(installed_plugin, tmp_path):
    out = run_with(installed_plugin, "-c", "from verifiers.registry import available; print(available())")
    assert "parity" in out.stdout, out.stderr
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps({"completion": c, "reference": r}) + "\n"
                           for c, r in [("it is 4", "even"), ("it is 4", "odd"), ("none", "odd")]))
    out = run_with(installed_plugin, "-m", "selfimprove.cli", "verify", "--verifier", "parity", "--input", str(src),
                   "--output", str(dst), "--option", "strict=true", "--workers", "1")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["status"] for line in dst.read_text().splitlines()] == ["correct", "wrong", "invalid"]
    assert "parity@1.0.0" in out.stdout


def test_module_callable_path():
    verify = build_verifier("tests.verifiers.test_plugins:always_right")
    assert verify("anything", "x").status is Status.CORRECT


def always_right(completion, reference):
    return Verification.graded(True, completion)


def test_unknown_name_lists_available():
    with pytest.raises(UnknownVerifierError) as err:
        build_verifier("matth")
    msg = str(err.value)
    assert "Did you mean 'math'" in msg and all(name in msg for name in available())


def test_bad_options_name_the_verifier():
    with pytest.raises(TypeError, match="verifier 'math': bad options"):
        build_verifier("math", no_such_option=1)
