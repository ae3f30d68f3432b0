"""``hipsync edit`` through the real CLI app: everyday corrections, their listing, undo, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from flows.imports import import_recording
from hipsync.cli import app
from hipsync.records import Exercise
from storage import paths


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def stored(hipsync_home: Path, rng: np.random.Generator, kit: Any) -> str:
    """One session in $HIPSYNC_HOME: 10 clamshells from 5 s, 8 more from 40 s, 8 leg raises from 80 s."""
    sets = (
        kit.make_set(Exercise.CLAMSHELL, 5.0, 10),
        kit.make_set(Exercise.CLAMSHELL, 40.0, 8),
        kit.make_set(Exercise.SIDE_LYING_LEG_RAISE, 80.0, 8),
    )
    res = import_recording(
        paths.db_path(), kit.make_recording(rng, duration_s=110.0), analysis=kit.make_analysis("v1", sets)
    )
    assert res.session_id is not None
    return res.session_id


def test_everyday_corrections(stored: str) -> None:
    r = _run("edit", "show", "last")
    assert r.exit_code == 0, r.output
    assert "    2  0:40-1:04      clamshell" in r.output

    r = _run("edit", "exercise", "last", "2", "side_lying_leg_raise")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("edit #1: the set at 0:40-1:04 is side_lying_leg_raise")
    assert "   2*  0:40-1:04      side_lying_leg_raise (you)" in r.output

    r = _run("edit", "reps", stored[:8], "3", "9")
    assert r.exit_code == 0 and "9 (you; 8 found)" in r.output

    r = _run("edit", "merge", "last", "2", "3")
    assert r.exit_code == 0 and "the 2 sets at 0:40-1:44 are one set" in r.output

    r = _run("edit", "list")
    lines = r.output.splitlines()
    assert len(lines) == 3 and lines[0].startswith(f"#1   {stored[:8]} set 2  exercise side_lying_leg_raise")
    assert all(line.endswith("applied") for line in lines)

    r = _run("edit", "undo")
    assert r.exit_code == 0 and r.output.startswith("undid edit #3 (merge 0:40-1:44 of set 2)")
    assert "undone by" in _run("edit", "list", "last").output

    r = _run("sessions", "--json")
    assert json.loads(r.output.splitlines()[0])["n_corrected"] == 2


def test_split_and_delete(stored: str) -> None:
    r = _run("edit", "split", "last", "1", "--after-rep", "6")
    assert r.exit_code == 0, r.output
    r = _run("edit", "delete", "last", "4")
    assert r.exit_code == 0, r.output
    assert "leg_raise" not in r.output and "    3  0:40-1:04" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("exercise", "last", "2", "clamshel"), "did you mean clamshell?"),
        (("exercise", "zzzzzzzz", "2", "clamshell"), "no session starts with 'zzzzzzzz'"),
        (("reps", "last", "4", "10"), "has sets 1-3; there is no set 4"),
        (("split", "last", "1"), "say where to split"),
        (("undo", "7"), "nothing to undo"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(stored: str, args: tuple[str, ...], message: str) -> None:
    r = CliRunner().invoke(app, ["edit", *args])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and r.output.startswith("error: ") and message in r.output
    assert _run("edit", "list").output.startswith("no edits yet")


def test_no_database_yet(hipsync_home: Path) -> None:
    r = _run("edit", "exercise", "last", "1", "clamshell")
    assert r.exit_code == 2 and "no database" in r.output
    assert _run("edit", "list").output.startswith("no edits yet")
