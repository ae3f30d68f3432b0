"""``hipsync simulate session|program`` write readable CSVs with their truth beside them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from hipsync.cli import app

runner = CliRunner()


def test_simulate_session_writes_csv_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        [
            "simulate",
            "session",
            "--seed",
            "7",
            "--out",
            str(out),
            "--quick",
            "--fs-hz",
            "52",
            "-e",
            "clamshell",
        ],
    )
    assert res.exit_code == 0, res.output
    header = out.read_text().splitlines()[0]
    assert header == "time,ax,ay,az,gx,gy,gz"
    data = np.loadtxt(out, delimiter=",", skiprows=1)
    assert data.shape[1] == 7 and data.shape[0] > 52 * 30
    assert np.all(np.diff(data[:, 0]) > 0)
    assert 0.8 < np.median(np.linalg.norm(data[:, 1:4], axis=1)) < 1.2
    truth = json.loads((tmp_path / "s.truth.json").read_text())
    assert truth["meta"]["seed"] == 7 and truth["meta"]["fs_hz"] == 52.0
    assert [s["exercise"] for s in truth["sets"]] == ["clamshell"]
    assert len(truth["sets"][0]["reps"]) == 8
    assert truth["sets"][0]["end"] <= data[-1, 0]


def test_simulate_session_accel_only_and_bad_exercise(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    res = runner.invoke(
        app, ["simulate", "session", "--seed", "1", "--out", str(out), "--quick", "--accel-only"]
    )
    assert res.exit_code == 0, res.output
    assert out.read_text().splitlines()[0] == "time,ax,ay,az"
    res = runner.invoke(app, ["simulate", "session", "--seed", "1", "--out", str(out), "-e", "squat"])
    assert res.exit_code != 0
    assert "squat" in res.output


def test_simulate_program_writes_sessions_and_program_json(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "simulate",
            "program",
            "--weeks",
            "1",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "p"),
            "--compact",
            "--fs-hz",
            "25",
            "--sessions-per-week",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "p" / "program.json").read_text())
    assert len(doc["plan"]) == 1 and len(doc["schedule"]) == 2
    files = [s["file"] for s in doc["schedule"] if s["done"]]
    assert files
    for f in files:
        assert (tmp_path / "p" / f).is_file()
        truth = json.loads((tmp_path / "p" / f.replace(".csv", ".truth.json")).read_text())
        assert truth["sets"] and all(s["load"] for s in truth["sets"])
