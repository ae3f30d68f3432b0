"""The CLI's option enums equal the lists they mirror (they are repeated to keep ``--help`` fast)."""

from __future__ import annotations

import pytest
import typer

from hipsync.cli._utilities import ProfileOption, SideOption, exit_with_error
from hipsync.records import Side
from ingest.profiles import PROFILES


def test_side_option_is_the_records_side() -> None:
    assert [o.value for o in SideOption] == [s.value for s in Side]


def test_profile_option_lists_every_profile() -> None:
    assert sorted(o.value for o in ProfileOption) == sorted(PROFILES)


def test_exit_with_error_prints_and_exits_with_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exc:
        exit_with_error("the sensor refused to stream", code=4)
    assert exc.value.exit_code == 4
    assert capsys.readouterr().err.strip() == "error: the sensor refused to stream"
