"""Shared fixtures: a tiny random model (no download) and the optional ../shared/data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test when that folder is absent (a user's clone)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} not present")
    return path


@pytest.fixture(scope="session")
def tiny():
    from selfimprove.models import load_model

    return load_model("tiny-random", device="cpu", seed=0)
