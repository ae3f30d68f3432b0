"""The cohort folder: which subfolders are athletes, and the athlete.json each may have."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.cohort.layout import (
    AthleteInfo,
    CohortError,
    find_athletes,
    is_valid_athlete_id,
    read_athlete_info,
    write_athlete_info,
)


def _home(root: Path, name: str, *, db: bool = True) -> Path:
    home = root / name
    home.mkdir(parents=True)
    if db:
        (home / "hipsync.duckdb").write_bytes(b"")
    return home


def test_athletes_are_the_subfolders_with_a_database_or_an_athlete_file(tmp_path: Path) -> None:
    _home(tmp_path, "b-2")
    write_athlete_info(_home(tmp_path, "a-1", db=False), AthleteInfo(sessions_per_week=3))
    _home(tmp_path, "_lake")  # the lake, not an athlete
    _home(tmp_path, ".hidden")
    _home(tmp_path, "empty", db=False)  # neither file: not an athlete
    found = find_athletes(tmp_path)
    assert [a.athlete for a in found] == ["a-1", "b-2"]
    assert found[0].info.sessions_per_week == 3 and found[1].info == AthleteInfo()
    assert found[1].db_path == tmp_path / "b-2" / "hipsync.duckdb"


def test_a_folder_name_that_cannot_be_a_partition_value_is_skipped(tmp_path: Path) -> None:
    _home(tmp_path, "ok")
    _home(tmp_path, "x=y")
    assert [a.athlete for a in find_athletes(tmp_path)] == ["ok"]
    assert (
        is_valid_athlete_id("athlete-001") and not is_valid_athlete_id("a/b") and not is_valid_athlete_id("")
    )


def test_only_picks_athletes_and_names_the_missing_ones(tmp_path: Path) -> None:
    _home(tmp_path, "a")
    _home(tmp_path, "b")
    assert [a.athlete for a in find_athletes(tmp_path, ("b",))] == ["b"]
    with pytest.raises(CohortError, match="no athlete zz"):
        find_athletes(tmp_path, ("b", "zz"))


def test_a_missing_cohort_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CohortError, match="no cohort folder"):
        find_athletes(tmp_path / "nope")


def test_athlete_file_round_trips_and_bad_ones_name_the_file(tmp_path: Path) -> None:
    info = AthleteInfo(sessions_per_week=2, sides=("left", "right"), sensor="polar-h10", note="n")
    path = write_athlete_info(tmp_path, info)
    assert read_athlete_info(tmp_path) == info
    path.write_text(json.dumps({"sessions_per_week": 0}))
    with pytest.raises(CohortError, match=r"athlete\.json: sessions_per_week"):
        read_athlete_info(tmp_path)
    path.write_text(json.dumps({"sides": ["middle"]}))
    with pytest.raises(CohortError, match="sides"):
        read_athlete_info(tmp_path)
    path.write_text(json.dumps({"coach": "x"}))
    with pytest.raises(CohortError, match="unknown field"):
        read_athlete_info(tmp_path)
    path.write_text("{not json")
    with pytest.raises(CohortError, match="cannot read"):
        read_athlete_info(tmp_path)
