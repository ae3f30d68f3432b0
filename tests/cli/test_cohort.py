"""``hipsync cohort`` through the real root app: simulate, export, report, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hipsync.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated athletes, one week, made by the command itself."""
    root = tmp_path_factory.mktemp("cli-cohort") / "cohort"
    out = runner.invoke(
        app,
        [
            "cohort",
            "simulate",
            str(root),
            "--athletes",
            "2",
            "--weeks",
            "1",
            "--seed",
            "3",
            "--start",
            "2026-03-02",
        ],
    )
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith(f"2 athlete(s) in {root}: ")
    return root


def test_simulate_makes_one_home_per_athlete(root: Path) -> None:
    homes = sorted(p.name for p in root.iterdir())
    assert homes == ["athlete-001", "athlete-002"]
    for h in homes:
        assert (root / h / "hipsync.duckdb").exists() and (root / h / "athlete.json").exists()


def test_export_then_export_again_writes_nothing(root: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = runner.invoke(app, ["cohort", "export", str(root), "--lake", str(lake)])
    assert first.exit_code == 0, first.output
    assert "2 athlete(s), 0 unchanged" in first.stdout and (lake / "reps").is_dir()
    again = runner.invoke(app, ["cohort", "export", str(root), "--lake", str(lake)])
    assert again.exit_code == 0 and "2 athlete(s), 2 unchanged; 0 file(s) written, 0 removed" in again.stdout


def test_report_in_each_format(root: Path, tmp_path: Path) -> None:
    args = ["cohort", "report", str(root), "--week", "2026-W10", "--out", str(tmp_path)]
    doc = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert doc["week"] == "2026-W10" and {a["athlete"] for a in doc["athletes"]} == {
        "athlete-001",
        "athlete-002",
    }
    assert all(a["reps"] > 0 for a in doc["athletes"])
    md = runner.invoke(app, [*args, "--format", "md", "--no-export"])
    assert md.exit_code == 0 and md.stdout.startswith("# Cohort report 2026-W10")
    html = runner.invoke(app, [*args, "--no-export"])
    assert html.exit_code == 0 and Path(html.stdout.strip()) == tmp_path / "cohort-report-2026-W10.html"
    assert (root / "_lake" / "sessions").is_dir()  # the default lake, refreshed by the first report


def test_clear_errors_for_bad_input(root: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    cases = [
        (["cohort", "export", str(missing)], "no cohort folder"),
        (["cohort", "report", str(root), "--week", "2026-10"], "ISO week"),
        (["cohort", "report", str(missing), "--no-export"], "no lake"),
        (["cohort", "reprocess", str(root), "--workers", "2", "--dask-address", "tcp://x:8786"], "not both"),
        (["cohort", "reprocess", str(missing)], "no cohort folder"),
        (["cohort", "reprocess", str(root), "--athlete", "zz"], "no athlete zz"),
        (["cohort", "simulate", str(tmp_path / "c"), "--start", "March"], "not a date"),
    ]
    for args, message in cases:
        out = runner.invoke(app, args)
        assert out.exit_code == 2 and message in out.output, (args, out.output)


def test_help_lists_the_commands_and_loads_no_engine() -> None:
    out = runner.invoke(app, ["cohort", "--help"])
    assert out.exit_code == 0
    for command in ("simulate", "reprocess", "export", "report"):
        assert command in out.stdout
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, hipsync.cli; "
            "print(sorted({'dask', 'distributed', 'prefect', 'duckdb'} & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
