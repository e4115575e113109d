"""The documentation: a short README whose numbers link to records, a config reference generated
from the schema, and a site that builds with ``mkdocs build --strict`` (a broken link or a missing
page fails)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from selfimprove import configio
from selfimprove.config import Config

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
REFERENCE = REPO / "docs" / "pages" / "config-reference.md"
START, END = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")
#: what a measured number looks like in prose: a fraction (0.225) or a ratio (2.36x)
MEASURED = re.compile(r"(?<![\w.])0\.\d{2,}\b|\b\d+\.\d+x\b")


def test_config_reference_is_current():
    text = REFERENCE.read_text()
    assert START in text and END in text, f"{REFERENCE} lost its config-reference markers"
    embedded = text.split(START, 1)[1].split(END, 1)[0]
    assert embedded == configio.reference_markdown(Config), (
        f"{REFERENCE.relative_to(REPO)} is stale; replace the table between its markers with the output of: "
        "python -m selfimprove.cli config-reference --markdown"
    )


def test_readme_is_short():
    lines = len(README.read_text().splitlines())
    assert lines <= 250, f"README.md has {lines} lines; topics belong in docs/pages/, run notes in their records"


def test_readme_links_resolve():
    missing = [target for target, _ in LINK.findall(README.read_text())
               if not target.startswith(("http://", "https://")) and not (REPO / target).exists()]
    assert missing == [], f"README.md links to files that do not exist: {missing}"


def _blocks(text: str) -> list[str]:
    """Paragraphs and table rows outside code: the units a number and its link share. Numbers in
    code (`0.667` is wrong for `\\frac23`) are examples, not measurements."""
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))
    blocks = []
    for paragraph in prose.split("\n\n"):
        lines = paragraph.strip().splitlines()
        blocks += lines if lines and all(line.startswith("|") for line in lines) else ["\n".join(lines)]
    return blocks


def test_every_number_in_the_readme_links_to_a_record():
    unlinked = [block for block in _blocks(README.read_text())
                if MEASURED.search(block) and "](benchmarks/results/" not in block]
    assert unlinked == [], f"README.md quotes numbers without a link to their record in benchmarks/results/: {unlinked}"


def test_the_quickstart_keeps_its_two_commands():
    quickstart = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    first_block = quickstart.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in first_block.splitlines()] == [
        "bash launch/quickstart.sh", "bash launch/test.sh"]


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None,
                    reason="mkdocs / mkdocs-material not installed (the project's dev extra; launch/setup.sh installs it)")
def test_docs_site_builds_strictly(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(REPO / "docs" / "mkdocs.yml"),
         "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "results" / "index.html").exists()  # the records index, generated
