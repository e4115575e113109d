"""The PyPI distribution 'verifiers' shares our import name: installing both must fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(code: str, path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=f"{path}{os.pathsep}{REPO}")
    return subprocess.run([sys.executable, "-c", code], cwd=path, env=env, capture_output=True, text=True)


def test_selfimprove_refuses_a_foreign_verifiers_package(tmp_path):
    (tmp_path / "verifiers").mkdir()
    (tmp_path / "verifiers" / "__init__.py").write_text("ENVIRONMENTS = []\n")  # the other package, first on the path
    out = run("import selfimprove", tmp_path)
    assert out.returncode != 0 and "ImportError" in out.stderr
    assert "PyPI distribution 'verifiers'" in out.stderr and "pip uninstall verifiers" in out.stderr


def test_our_verifiers_refuses_to_shadow_the_installed_pypi_one(tmp_path):
    info = tmp_path / "verifiers-0.1.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: verifiers\nVersion: 0.1.9\n")
    out = run("import verifiers", tmp_path)
    assert out.returncode != 0 and "'verifiers' 0.1.9" in out.stderr and "separate virtual environments" in out.stderr
    clean = tmp_path / "clean"
    clean.mkdir()
    ok = run("import verifiers; print(verifiers.__file__)", clean)  # without the other one, all is well
    assert ok.returncode == 0 and ok.stdout.strip() == str(REPO / "verifiers" / "__init__.py")
