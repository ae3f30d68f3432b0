"""The package layering in docs/architecture.md holds (import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(REPO_ROOT / ".venv" / "bin" / "lint-imports")
    proc = subprocess.run([exe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("module", ["hipsync", "hipsync.cli"])
def test_cli_help_lists_commands(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage: hipsync" in proc.stdout
    for command in ("record", "sync", "report", "serve", "demo", "plan", "sensors", "simulate"):
        assert command in proc.stdout


def test_ruff_lint_and_format_are_clean() -> None:
    exe = shutil.which("ruff") or str(REPO_ROOT / ".venv" / "bin" / "ruff")
    for args in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run([exe, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"ruff {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
