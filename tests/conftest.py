"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every random test is reproducible."""
    return np.random.default_rng(20261124)


@pytest.fixture
def hipsync_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, empty $HIPSYNC_HOME for one test."""
    home = tmp_path / "hipsync-home"
    home.mkdir()
    monkeypatch.setenv("HIPSYNC_HOME", str(home))
    yield home


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """../shared/data/real beside the checkout (present on developer machines and in CI)."""
    if not SHARED_REAL_DATA.is_dir():
        pytest.fail(f"real recordings not found at {SHARED_REAL_DATA}")
    return SHARED_REAL_DATA
