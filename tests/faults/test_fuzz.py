"""The fuzz benchmark in small (issue 19): mutated frames and spools raise only documented errors.

``uv run python -m benchmarks fuzz`` runs 100,000 frames and 20,000 spools; this runs the same code with
the same seed on a few thousand, so a regression shows in CI. Documented = the typed errors of
``ingest/errors.py`` and ``storage/errors.py``.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_fuzz.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fuzz", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_fuzzed_frames_and_spools_raise_only_documented_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)  # each damaged spool logs warnings; thousands of them
    tallies = _bench().run(n_frames=4000, n_spools=800, n_imports=3)
    assert tallies["frames, mutated"].documented > 1000  # the mutations do reach the error paths
    assert tallies["spools, mutated"].documented > 100
    undocumented = {name: dict(t.undocumented) for name, t in tallies.items() if t.undocumented}
    examples = {name: t.examples for name, t in tallies.items() if t.examples}
    assert undocumented == {}, examples
