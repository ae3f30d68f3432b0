"""The database commands end to end through the real CLI app (typer's runner, real files in $HIPSYNC_HOME)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from hipsync.cli import app
from ingest.files import write_recording_csv


def _run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    return result


def _sync_a_good_and_a_bad_spool(spool_dir: Path, rng: np.random.Generator, kit: Any) -> None:
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


def _import_a_csv_twice(tmp_path: Path, rng: np.random.Generator, kit: Any) -> None:
    csv = write_recording_csv(tmp_path / "x.csv", kit.make_recording(rng, duration_s=10.0, started_at=None))
    r = _run("import", str(csv), "--side", "right", "--started-at", "2026-11-20T07:00:00+00:00")
    assert r.exit_code == 0, r.output
    r = _run("import", str(csv))
    assert "already stored" in r.output


def _listed_sessions() -> list[dict[str, Any]]:
    r = _run("sessions", "--json")
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert sorted(row["status"] for row in rows) == ["analysed", "analysed", "quarantined"]
    quarantined = next(row for row in rows if row["status"] == "quarantined")
    assert "magic" in quarantined["status_reason"]
    r = _run("sessions")
    assert r.exit_code == 0 and "quarantined" in r.output
    return rows


@pytest.mark.slow
def test_storage_commands(hipsync_home: Path, tmp_path: Path, rng: np.random.Generator, kit: Any) -> None:
    # Nothing stored yet: a friendly message, not an error.
    r = _run("sessions")
    assert r.exit_code == 0 and "no sessions" in r.output
    r = _run("plan", "set", "clamshell", "--sets", "3", "-r", "band:red", "--from", "2026-11-01")
    assert r.exit_code == 0, r.output

    _sync_a_good_and_a_bad_spool(hipsync_home / "spool", rng, kit)
    _import_a_csv_twice(tmp_path, rng, kit)
    rows = _listed_sessions()

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
