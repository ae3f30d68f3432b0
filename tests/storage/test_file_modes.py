"""Health data is private (issue 19, item 5): $HIPSYNC_HOME 0700, every file hipsync writes there 0600.

At the default umask (0022) the database, spools, reports and plan.toml were 0644 in 0755 folders, and
spools were even created 0644 explicitly. The umask here is set to 0022 for the test and restored.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hipsync.cli import app
from ingest.emulator.spools import write_emulated_spool
from storage import paths


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(home: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(home.stat().st_mode)}
    for p in home.rglob("*"):
        out[str(p.relative_to(home))] = stat.S_IMODE(p.lstat().st_mode)
    return out


def _run(*args: str) -> None:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output


def test_everything_hipsync_writes_into_its_home_is_private(hipsync_home: Path, loose_umask: None) -> None:
    os.chmod(hipsync_home, 0o755)  # as an older hipsync left it
    write_emulated_spool(paths.spool_dir() / "20261118T070000Z_h10.spool", "polar-h10", seconds=30)
    _run("sync")
    _run(
        "plan", "set", "clamshell", "--sets", "3", "--reps", "10-15", "-r", "band:red", "--from", "2026-11-01"
    )
    _run("sensors", "add", "E0:9E:1A:00:00:07", "--side", "left", "--profile", "polar-h10")
    _run("report", "--format", "md", "--week", "2026-W47")
    _run("export", str(hipsync_home / "export"), "--samples")
    modes = _modes(hipsync_home)
    names = set(modes)
    assert {"hipsync.duckdb", "plan.toml", "sensors.json", "spool", "reports", "export"} <= names
    assert any(n.startswith("reports/") for n in names) and any(n.startswith("export/") for n in names)
    loose = {n: oct(m) for n, m in modes.items() if m != (0o700 if (hipsync_home / n).is_dir() else 0o600)}
    assert loose == {}


def test_a_home_holding_other_files_is_left_open_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "common"
    shared.mkdir(mode=0o755)
    (shared / "somebody-elses.txt").write_text("not hipsync's")
    monkeypatch.setenv("HIPSYNC_HOME", str(shared))
    assert paths.hipsync_home() == shared
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert "left alone" in caplog.text
    assert stat.S_IMODE(paths.spool_dir().stat().st_mode) == 0o700  # what hipsync makes in it is private


def test_a_new_home_is_private_from_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None
) -> None:
    monkeypatch.setenv("HIPSYNC_HOME", str(tmp_path / "new" / "home"))
    home = paths.hipsync_home()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
