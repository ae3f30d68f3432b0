"""The CLI's option enums equal the lists they mirror (they are repeated to keep ``--help`` fast)."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
import typer

from flows.report.produce import FORMATS
from hipsync.cli._utilities import AccUnits, GyroUnits, ProfileOption, SideOption, exit_with_error
from hipsync.cli.report import ReportFormat
from hipsync.cli.sessions import ExportFormat
from hipsync.records import Side
from ingest.files import read_recording_file
from ingest.profiles import PROFILES
from storage.export import ExportFormat as StorageExportFormat


def test_side_option_is_the_records_side() -> None:
    assert [o.value for o in SideOption] == [s.value for s in Side]


def test_profile_option_lists_every_profile() -> None:
    assert sorted(o.value for o in ProfileOption) == sorted(PROFILES)


def test_format_options_are_the_formats_written() -> None:
    assert [f.value for f in ReportFormat] == list(FORMATS)
    assert [f.value for f in ExportFormat] == list(get_args(StorageExportFormat))


def test_unit_options_are_the_units_the_reader_takes(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("time,ax,ay,az,gx,gy,gz\n0,0,0,1,0,0,0\n0.02,0,0,1,0,0,0\n")
    for acc in AccUnits:
        for gyro in GyroUnits:
            assert read_recording_file(f, acc_units=acc.value, gyro_units=gyro.value).n_samples == 2


def test_exit_with_error_prints_and_exits_with_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exc:
        exit_with_error("the sensor refused to stream", code=4)
    assert exc.value.exit_code == 4
    assert capsys.readouterr().err.strip() == "error: the sensor refused to stream"
