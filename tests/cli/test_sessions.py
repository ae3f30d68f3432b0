"""The storage commands end to end through the real CLI app (typer's runner, real files in $HIPSYNC_HOME)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from hipsync.cli import app


def _run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    return result


@pytest.mark.slow
def test_storage_commands(hipsync_home: Path, tmp_path: Path, rng: np.random.Generator, kit: Any) -> None:
    from ingest.files import write_recording_csv

    # Nothing stored yet: a friendly message, not an error.
    r = _run("sessions")
    assert r.exit_code == 0 and "no sessions" in r.output

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

    spool_dir = hipsync_home / "spool"
    spool_dir.mkdir()
    kit.write_witmotion_spool(spool_dir / "a.spool", rng, n=1000)
    (spool_dir / "b.spool").write_bytes(b"not a spool at all")
    r = _run("sync")
    assert r.exit_code == 0, r.output
    assert "1 imported, 0 already stored, 1 quarantined" in r.output
    r = _run("sync")
    assert "0 imported, 2 already stored, 0 quarantined" in r.output
    r = _run("sync", "--retry-quarantined")
    assert "retrying 1 quarantined" in r.output and "0 imported, 1 already stored, 1 quarantined" in r.output

    csv = write_recording_csv(tmp_path / "x.csv", kit.make_recording(rng, duration_s=10.0, started_at=None))
    r = _run("import", str(csv), "--side", "right", "--started-at", "2026-11-20T07:00:00+00:00")
    assert r.exit_code == 0, r.output
    r = _run("import", str(csv))
    assert "already stored" in r.output

    r = _run("sessions", "--json")
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert sorted(row["status"] for row in rows) == ["analysed", "analysed", "quarantined"]
    quarantined = next(row for row in rows if row["status"] == "quarantined")
    assert "magic" in quarantined["status_reason"]
    r = _run("sessions")
    assert r.exit_code == 0 and "quarantined" in r.output

    imported = next(row for row in rows if row["started_at"].startswith("2026-11-20"))
    r = _run("log", imported["session_id"][:8], "--rpe", "7")
    assert r.exit_code == 0 and "RPE 7" in r.output, r.output
    r = _run("log", imported["session_id"][:8], "99", "--load", "band:green")
    assert r.exit_code == 1 and "no set 99" in r.output

    r = _run("export", str(tmp_path / "export"), "--format", "csv")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "export" / "sessions.csv").read_text().count("\n") == 4  # header + 3 sessions

    r = _run("reprocess")
    assert r.exit_code == 0 and "up to date" in r.output


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
