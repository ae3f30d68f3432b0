"""``hipsync analyze FILE [--json]`` through the real root app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from flows.cli import app
from hipsync.records import analysis_to_json
from processing import analyze


def _write_csv(
    path: Path, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray | None, header: str | None = None
) -> None:
    cols = [t[:, None], acc] + ([gyro] if gyro is not None else [])
    h = header or ("time,ax,ay,az" + (",gx,gy,gz" if gyro is not None else ""))
    np.savetxt(path, np.hstack(cols), delimiter=",", header=h, comments="", fmt="%.9g")


def test_json_output_is_exactly_analysis_to_json(
    tmp_path: Path, rng: np.random.Generator, make_set: Any
) -> None:
    s = make_set(rng, rest_up=np.array([0.0, 0.0, 1.0]), axis_world=[1.0, 0.0, 0.0], n_reps=6)
    r = s.recording
    f = tmp_path / "rec.csv"
    _write_csv(f, r.time_s, r.accel_g, r.gyro_dps)
    res = CliRunner().invoke(app, ["analyze", str(f), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert len(doc["sets"]) == 1 and len(doc["sets"][0]["reps"]) == 6
    # the same as analysing the file's recording in-process (fs_hz from the file is unknown: None)
    from ingest.files import read_recording_file

    assert doc == json.loads(json.dumps(analysis_to_json(analyze(read_recording_file(f)))))


def test_units_options_and_table(tmp_path: Path, rng: np.random.Generator, make_set: Any) -> None:
    s = make_set(rng, rest_up=np.array([0.0, 0.0, 1.0]), axis_world=[1.0, 0.0, 0.0], n_reps=6)
    r = s.recording
    f = tmp_path / "si.csv"
    _write_csv(f, r.time_s, r.accel_g * 9.80665, np.radians(r.gyro_dps))
    res = CliRunner().invoke(app, ["analyze", str(f), "--acc-units", "m/s2", "--gyro-units", "rad/s"])
    assert res.exit_code == 0, res.output
    assert "eccentric-bottom pause-concentric-top hold" in res.output.replace("\n", " ").replace("  ", " ")
    assert "6" in res.output


def test_wrong_column_gives_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("time,ax,ay,accz\n0,0,0,1\n0.02,0,0,1\n")
    res = CliRunner().invoke(app, ["analyze", str(f)])
    assert res.exit_code == 2
    assert "az" in res.output or "accz" in res.output
    assert "Traceback" not in res.output


def test_missing_file(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["analyze", str(tmp_path / "nope.csv")])
    assert res.exit_code == 2 and "no such file" in res.output
