"""``hipsync plan show|set|edit`` through the real CLI app (a fresh $HIPSYNC_HOME)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hipsync.cli import app


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_plan_set_show_and_clear_rejections(hipsync_home: Path) -> None:
    r = _run("plan", "show")
    assert r.exit_code == 0 and "no plan yet" in r.output
    r = _run(
        "plan", "set", "clamshell", "--sets", "3", "--reps", "10-15", "-r", "band:red", "--from", "2026-11-01"
    )
    assert r.exit_code == 0, r.output
    r = _run("plan", "set", "squats", "--reps", "5")
    assert r.exit_code == 1 and "unknown exercise" in r.output
    r = _run("plan", "set", "clamshell", "-r", "band:purple", "--from", "2026-11-01")
    assert r.exit_code == 1 and "purple" in r.output
    r = _run("plan", "show")
    assert r.exit_code == 0 and "band:red" in r.output and "3 x 10-15" in r.output


def test_plan_edit_uses_the_editor_and_checks_the_file(
    hipsync_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _run("plan", "set", "clamshell", "-r", "band:red", "--from", "2026-11-01")
    assert r.exit_code == 0, r.output
    # A non-interactive "editor": click runs `$EDITOR "<file>"` through the shell.
    monkeypatch.setenv("EDITOR", "sed -i -e s/band:red/band:blue/")
    r = _run("plan", "edit")
    assert r.exit_code == 0, r.output
    assert "1 exercise" in r.output
    assert 'resistance = "band:blue"' in (hipsync_home / "plan.toml").read_text()
    monkeypatch.setenv("EDITOR", "sed -i -e s/band:blue/band:purple/")
    r = _run("plan", "edit")
    assert r.exit_code == 1 and "purple" in r.output
