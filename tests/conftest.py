"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = REPO_ROOT / "tests" / "data" / "real"


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
    """The real recordings bundled with the tests (tests/data/real, gzip-compressed; see its README)."""
    return REAL_DATA
