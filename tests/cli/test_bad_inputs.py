"""Bad inputs end in one clear line, never a traceback or silence (issue 19, item 7).

Each case was reproduced by the audit: huge values analysed before the range check (a ``LinAlgError``
traceback), a UTF-16 CSV, ``analyze DIR``, ``np.float64(...)`` in messages, a time column that never
advances, 1- and 2-sample files stored as sessions, a file of zero bytes read whole, ``sensors add XX:YY``,
``sensors add`` without Bluetooth, ``plan set --from 2026-13-01``, ``simulate -e clamshel``; and
``record`` blaming the Bluetooth adapter for a home it cannot write.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import hipsync.cli.sensors
import processing
from hipsync.cli import app

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(app, list(args), **kwargs)


def _csv(path: Path, times: np.ndarray, ax: np.ndarray | None = None) -> Path:
    ax = np.full(times.shape, 0.1) if ax is None else ax
    rows = "".join(f"{t!r},{a!r},0.0,1.0\n" for t, a in zip(times.tolist(), ax.tolist(), strict=True))
    path.write_text("time,ax,ay,az\n" + rows)
    return path


def _one_line_error(r: Any, *fragments: str) -> None:
    assert r.exit_code != 0 and "Traceback" not in r.output, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _bad_files(d: Path) -> dict[str, tuple[Path, str]]:
    t = np.arange(600) / 50.0
    huge = np.where(np.arange(600) % 7 == 0, 1e300, 0.1)
    utf16 = d / "utf16.csv"
    utf16.write_bytes(("time,ax,ay,az\n" + "".join(f"{x},0.1,0,1\n" for x in t)).encode("utf-16"))
    return {
        "huge values": (_csv(d / "huge.csv", t, huge), "beyond ±200 g"),
        "equal times": (_csv(d / "equal.csv", np.full(600, 5.0)), "does not advance"),
        "one sample": (_csv(d / "one.csv", t[:1]), "only 1 sample"),
        "two samples": (_csv(d / "two.csv", t[:2]), "only 2 samples"),
        "UTF-16": (utf16, "UTF-16"),
        "time in ms": (_csv(d / "ms.csv", np.arange(600) * 20_000.0), "at most 24 h"),
    }


def test_bad_files_are_refused_before_the_analysis(
    hipsync_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_analysis(*_: object, **__: object) -> None:
        raise AssertionError("the analysis must not see this file")

    monkeypatch.setattr(processing, "analyze", no_analysis)
    for case, (path, reason) in _bad_files(tmp_path).items():
        r = _run("analyze", str(path))
        _one_line_error(r, str(path), reason)
        assert r.exit_code == 2, case
        r = _run("import", str(path), "--started-at", "2026-11-20T07:00")
        _one_line_error(r, "quarantined", str(path), reason)
    r = _run("sessions", "--json")
    assert r.stdout.count('"quarantined"') == len(_bad_files(tmp_path))  # stored as such, not as sessions


def test_messages_say_plain_numbers_and_directories(tmp_path: Path) -> None:
    back = tmp_path / "back.csv"
    back.write_text("time,ax,ay,az\n0,0,0,1\n0.5,0,0,1\n0.25,0,0,1\n")
    r = _run("analyze", str(back))
    _one_line_error(r, "(0.5 -> 0.25)")
    assert "np.float64" not in r.output
    r = _run("analyze", str(tmp_path))
    _one_line_error(r, "is a directory")


_READ_ZEROS = """
import resource, sys
from ingest.files import read_recording_file
from ingest.errors import SensorError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_recording_file(sys.argv[1])
except SensorError as e:
    print(e)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_file_of_zero_bytes_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    zeros = tmp_path / "zeros.csv"
    with zeros.open("wb") as f:
        f.truncate(300 * 1024 * 1024)  # sparse: 300 MB of zero bytes that take no disk
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _READ_ZEROS, str(zeros)], capture_output=True, text=True, env=env, check=True
    ).stdout.splitlines()
    assert "not a text file" in out[0]
    assert int(out[1]) < 32 * 1024  # kB of resident memory the attempt added (it took 1 GB for 450 MB)


def test_sensors_add_checks_the_address_and_asks_for_the_model(
    hipsync_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _run("sensors", "add", "XX:YY", "--side", "left", "--profile", "polar-h10")
    _one_line_error(r, "not a Bluetooth address")

    async def no_bluetooth(*_: object, **__: object) -> list[dict[str, Any]]:
        raise OSError("No Bluetooth adapter found")

    monkeypatch.setattr(hipsync.cli.sensors, "scan_sensors", no_bluetooth)
    # The README's example, with nobody to ask: says to give --profile.
    r = _run("sensors", "add", "AA:BB:CC:DD:EE:FF", "--side", "left")
    _one_line_error(r, "Bluetooth is not available", "--profile", "polar-verity-sense")
    # ... and at a terminal: asks.
    monkeypatch.setattr(hipsync.cli.sensors, "_interactive", lambda: True)
    r = _run("sensors", "add", "AA:BB:CC:DD:EE:FF", "--side", "left", input="polar-h10\n")
    assert r.exit_code == 0 and "added AA:BB:CC:DD:EE:FF (polar-h10)" in r.stdout, r.output


def test_options_are_named_in_their_errors(tmp_path: Path, hipsync_home: Path) -> None:
    r = _run("plan", "set", "clamshell", "--from", "2026-13-01")
    assert r.exit_code == 2 and "'--from'" in r.output and "2026-13-01" in r.output, r.output
    r = _run("simulate", "session", "--seed", "1", "--out", str(tmp_path / "s.csv"), "-e", "clamshel")
    assert r.exit_code == 2 and "clamshel" in r.output and "side_lying_leg_raise" in r.output, r.output
    assert not (tmp_path / "s.csv").exists()


def test_record_without_a_usable_home_says_so_not_bluetooth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    monkeypatch.setenv("HIPSYNC_HOME", str(a_file / "home"))
    r = _run("record", "--virtual", "polar-h10", "--duration", "1")
    _one_line_error(r, "spool folder", str(a_file / "home"))
    assert r.exit_code == 1 and "adapter" not in r.stderr
