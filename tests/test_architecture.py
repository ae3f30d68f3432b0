"""The package layering in docs/architecture.md holds (import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(REPO_ROOT / ".venv" / "bin" / "lint-imports")
    proc = subprocess.run([exe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_help_lists_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "hipsync" in proc.stdout.lower() or "Usage" in proc.stdout


def test_ruff_lint_and_format_are_clean() -> None:
    exe = shutil.which("ruff") or str(REPO_ROOT / ".venv" / "bin" / "ruff")
    for args in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run([exe, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"ruff {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
