"""The README's config reference is generated from the schema; this keeps the two equal."""

from pathlib import Path

from selfimprove import configio
from selfimprove.config import Config

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"


def test_readme_config_reference_is_current():
    text = README.read_text()
    assert START in text and END in text, "README.md lost its config-reference markers"
    embedded = text.split(START, 1)[1].split(END, 1)[0]
    assert embedded == configio.reference_markdown(Config), (
        "README.md's config reference is stale; regenerate it with: "
        "python -m selfimprove.cli config-reference --markdown"
    )
