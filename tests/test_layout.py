"""Layout: small files, and imports that go one way.

``verifiers`` is the bottom layer, ``rollouts`` sits on it, ``selfimprove`` on both; inside
``selfimprove``, the round loop (``selfimprove/train``) sits on the rest, which reaches back into
it only where that is the point: ``config.py`` (the ``train`` section of the schema) and
``cli.py`` (the ``train`` command).
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIMIT = 300
PACKAGES = ["selfimprove", "verifiers", "rollouts"]


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-local imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_the_line_limit(package):
    long = {str(p.relative_to(REPO)): n for p in modules(package) if (n := len(p.read_text().splitlines())) > LIMIT}
    assert not long, f"modules over {LIMIT} lines (split them by idea): {long}"


@pytest.mark.parametrize("package, above", [("verifiers", ("rollouts", "selfimprove")), ("rollouts", ("selfimprove",))])
def test_lower_layers_do_not_import_higher_ones(package, above):
    bad = {str(p.relative_to(REPO)): sorted(m for m in imported(p) if m.split(".")[0] in above)
           for p in modules(package)}
    assert not {k: v for k, v in bad.items() if v}, f"{package} imports {above}: {bad}"


def test_only_config_and_cli_reach_into_the_round_loop():
    allowed = {"config.py", "cli.py"}
    bad = {}
    for p in modules("selfimprove"):
        rel = p.relative_to(REPO / "selfimprove")
        if rel.parts[0] == "train" or str(rel) in allowed:
            continue
        if hits := sorted(m for m in imported(p) if m == "selfimprove.train" or m.startswith("selfimprove.train.")):
            bad[str(rel)] = hits
    assert not bad, f"modules outside selfimprove/train importing it (move what they need out of train/): {bad}"
