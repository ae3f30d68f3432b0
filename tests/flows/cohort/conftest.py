"""Fixtures for the cohort tests: one small simulated cohort per test session and copies to change.

- ``small_cohort``: 4 athletes x 2 weeks (seed 1: left, both legs, right, right; Verity Sense and
  WitMotion), simulated once per session into a temporary folder; never changed by a test;
- ``cohort``: a fresh copy of it for a test that writes;
- ``lake``: the small cohort's lake, exported once;
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from flows.cohort.lake import export_lake
from flows.cohort.simulate import SimulatedAthlete, simulate_cohort

COHORT_SEED = 1
COHORT_ATHLETES = 4
COHORT_WEEKS = 2
COHORT_START = date(2026, 3, 2)  # weeks 2026-W10 and 2026-W11
REPORT_WEEK = "2026-W11"


@pytest.fixture(scope="session")
def small_cohort_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SimulatedAthlete]]:
    root = tmp_path_factory.mktemp("cohort") / "small"
    done = simulate_cohort(root, COHORT_ATHLETES, COHORT_WEEKS, seed=COHORT_SEED, start=COHORT_START)
    return root, done


@pytest.fixture(scope="session")
def small_cohort(small_cohort_run: tuple[Path, list[SimulatedAthlete]]) -> Path:
    """The simulated cohort's folder (read it, do not change it: copy it with the ``cohort`` fixture)."""
    return small_cohort_run[0]


@pytest.fixture
def cohort(small_cohort: Path, tmp_path: Path) -> Path:
    """A copy of the small cohort this test may change."""
    return Path(shutil.copytree(small_cohort, tmp_path / "cohort"))


@pytest.fixture(scope="session")
def lake(small_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small cohort's lake (exported once; read only)."""
    lake_dir = tmp_path_factory.mktemp("lake") / "lake"
    export_lake(small_cohort, lake_dir)
    return lake_dir


@pytest.fixture(scope="session")
def report_week() -> str:
    """The small cohort's last week, the one the report tests look at."""
    return REPORT_WEEK


def _problems(db: Path) -> list[str]:
    """What is inconsistent in one athlete's database after a re-analysis (empty: nothing)."""
    import duckdb

    checks = {
        "sessions without exactly one current analysis": """
            SELECT s.session_id FROM sessions s LEFT JOIN analysis_runs r
              ON r.session_id = s.session_id AND r.is_current
            WHERE s.status = 'analysed' GROUP BY s.session_id HAVING count(r.run_id) <> 1""",
        "sets not of their session's current run": """
            SELECT st.set_id FROM sets st LEFT JOIN analysis_runs r ON r.run_id = st.run_id
            WHERE r.run_id IS NULL OR NOT r.is_current""",
        "sets whose rep count differs from their reps": """
            SELECT st.set_id FROM sets st LEFT JOIN reps r USING (set_id)
            GROUP BY st.set_id, st.n_reps HAVING count(r.rep_id) <> st.n_reps""",
        "reps without their set": (
            "SELECT rep_id FROM reps LEFT JOIN sets USING (set_id) WHERE sets.set_id IS NULL"
        ),
    }
    with duckdb.connect(str(db), read_only=True) as con:
        return [
            f"{what}: {len(rows)}" for what, sql in checks.items() if (rows := con.execute(sql).fetchall())
        ]


@pytest.fixture(scope="session")
def db_problems() -> object:
    """``db_problems(db_path) -> list[str]``: the consistency checks every athlete database must pass."""
    return _problems


def _make_stale(db: Path, version: str = "old-0") -> int:
    """Pretend an older analyzer made every current analysis; returns how many sessions that makes stale."""
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE analysis_runs SET algorithm_version = ? WHERE is_current", [version])
        row = con.execute("SELECT count(*) FROM analysis_runs WHERE is_current").fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="session")
def make_stale() -> object:
    """``make_stale(db_path) -> int``: mark every current analysis as made by version ``old-0``."""
    return _make_stale
