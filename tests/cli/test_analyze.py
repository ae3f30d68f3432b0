"""``hipsync analyze FILE [--json]`` through the real root app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hipsync.cli import app
from hipsync.records import analysis_to_json
from ingest.files import read_recording_file
from processing import analyze
from simulate import SessionSpec, SimulatedSession, simulate_session


def _write_csv(
    path: Path, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray | None, header: str | None = None
) -> None:
    cols = [t[:, None], acc] + ([gyro] if gyro is not None else [])
    h = header or ("time,ax,ay,az" + (",gx,gy,gz" if gyro is not None else ""))
    np.savetxt(path, np.hstack(cols), delimiter=",", header=h, comments="", fmt="%.9g")


@pytest.fixture(scope="module")
def session() -> SimulatedSession:
    """A short simulated session: one set of 6 clamshells at 52 Hz, with gyro."""
    return simulate_session(7, spec=SessionSpec.quick("clamshell", n_reps=6, fs_hz=52.0))


def test_json_output_is_exactly_analysis_to_json(tmp_path: Path, session: SimulatedSession) -> None:
    f = tmp_path / "rec.csv"
    _write_csv(f, session.time_s, session.accel_g, session.gyro_dps)
    res = CliRunner().invoke(app, ["analyze", str(f), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["sets"] and all(s["reps"] for s in doc["sets"])
    # the same as analysing the file's recording in-process (fs_hz from the file is unknown: None)
    assert doc == json.loads(json.dumps(analysis_to_json(analyze(read_recording_file(f)))))


def test_units_options_and_table(tmp_path: Path, session: SimulatedSession) -> None:
    f_g, f_si = tmp_path / "g.csv", tmp_path / "si.csv"
    _write_csv(f_g, session.time_s, session.accel_g, session.gyro_dps)
    assert session.gyro_dps is not None
    _write_csv(f_si, session.time_s, session.accel_g * 9.80665, np.radians(session.gyro_dps))
    in_g = json.loads(CliRunner().invoke(app, ["analyze", str(f_g), "--json"]).output)
    res = CliRunner().invoke(
        app, ["analyze", str(f_si), "--acc-units", "m/s2", "--gyro-units", "rad/s", "--json"]
    )
    assert res.exit_code == 0, res.output
    in_si = json.loads(res.output)
    assert [len(s["reps"]) for s in in_si["sets"]] == [len(s["reps"]) for s in in_g["sets"]]
    table = CliRunner().invoke(app, ["analyze", str(f_si), "--acc-units", "m/s2", "--gyro-units", "rad/s"])
    assert table.exit_code == 0, table.output
    assert "eccentric-bottom pause-concentric-top hold" in table.output.replace("\n", " ").replace("  ", " ")


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


REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def test_explain_lists_every_period_considered_and_why(tmp_path: Path) -> None:
    # the resting thigh of UCI subject 1: no set, and the explanation says what was looked at and why not
    f = REAL / "uci-pt/s1/e4/u4/test.txt.gz"
    plain = CliRunner().invoke(app, ["analyze", str(f)])
    assert plain.exit_code == 0, plain.output
    assert "No sets found" in plain.output and "--explain" in plain.output
    res = CliRunner().invoke(app, ["analyze", str(f), "--explain"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "movement periods considered" in res.output and "not counted" in res.output
    doc = json.loads(CliRunner().invoke(app, ["analyze", str(f), "--json", "--explain"]).output)
    assert doc["sets"] == [] and doc["considered"]
    assert all(not p["counted"] and p["reason"] != "set" and p["detail"] for p in doc["considered"])
    # the shape without --explain is unchanged
    assert "considered" not in json.loads(CliRunner().invoke(app, ["analyze", str(f), "--json"]).output)


def test_explain_json_marks_the_counted_set_with_its_numbers(
    tmp_path: Path, session: SimulatedSession
) -> None:
    f = tmp_path / "rec.csv"
    _write_csv(f, session.time_s, session.accel_g, session.gyro_dps)
    doc = json.loads(CliRunner().invoke(app, ["analyze", str(f), "--json", "--explain"]).output)
    counted = [p for p in doc["considered"] if p["counted"]]
    assert len(counted) == len(doc["sets"]) >= 1
    assert counted[0]["reps_counted"] == len(doc["sets"][0]["reps"])
    assert counted[0]["median_rom_deg"] > 5 and counted[0]["reason"] == "set"


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "explain.png"
    res = CliRunner().invoke(
        app, ["analyze", str(REAL / "mex/01/04_act_2.csv.gz"), "--explain", "--plot", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(
        app, ["analyze", str(REAL / "mex/01/04_act_2.csv.gz"), "--plot", str(tmp_path / "no" / "dir.png")]
    )
    assert bad.exit_code == 2 and "Traceback" not in bad.output
