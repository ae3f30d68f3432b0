"""``hipsync simulate session|program``: simulated recordings with their ground truth, no sensor needed.

:mod:`simulate` -> CSV ``time,ax,ay,az,gx,gy,gz`` (s, g, deg/s, written by :mod:`ingest.files`) with the
ground truth beside it (``FILE.truth.json``: the ``hipsync analyze --json`` shape plus ``segments`` and
``meta``), so any part of hipsync can be run and checked without a sensor. The simulator (NumPy, SciPy) is
imported inside the commands so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hipsync.cli._utilities import SideOption

if TYPE_CHECKING:
    from simulate import SimulatedSession

app = typer.Typer(
    name="simulate",
    help=(
        "Generate realistic simulated thigh-sensor recordings of hip-training sessions (and multi-week "
        "programs) together with their exact ground truth: sets, reps, phase times, range of motion."
    ),
    no_args_is_help=True,
)


def _truth_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.stem + ".truth.json")


def write_session(session: SimulatedSession, out: Path) -> tuple[Path, Path]:
    """Write ``session`` to ``out`` (CSV) and its truth to ``<stem>.truth.json``; returns both paths."""
    from hipsync.records import Recording
    from ingest.files import write_recording_csv

    out.parent.mkdir(parents=True, exist_ok=True)
    write_recording_csv(out, Recording.of(session, profile="simulated"))
    truth_path = _truth_path(out)
    truth_path.write_text(json.dumps(session.truth, indent=1) + "\n", encoding="utf-8")
    return out, truth_path


@app.command("session")
def session_cmd(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and options give the same file.")],
    out: Annotated[
        Path, typer.Option(help="CSV file to write; the truth goes to <stem>.truth.json beside it.")
    ],
    fs_hz: Annotated[
        float | None,
        typer.Option(
            "--fs-hz", help="Sensor sample rate in Hz (25-208); default: drawn from common IMU rates."
        ),
    ] = None,
    side: Annotated[SideOption | None, typer.Option(help="Sensor leg; default: drawn from the seed.")] = None,
    exercise: Annotated[
        list[str] | None,
        typer.Option(
            "--exercise",
            "-e",
            help="Exercise id to include (repeatable), e.g. clamshell; default: 2-4 drawn at random.",
        ),
    ] = None,
    sets: Annotated[
        int | None, typer.Option(help="Sets per exercise by the sensor leg; default 3-4.")
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(help="Short session (~1-2 min): one exercise, one set, no walking, no other-leg sets."),
    ] = False,
    accel_only: Annotated[
        bool, typer.Option("--accel-only", help="Simulate an accelerometer-only sensor (no gyro columns).")
    ] = False,
) -> None:
    """Simulate one training session and write its CSV and ground truth."""
    from simulate import SensorSpec, SessionSpec, SimulationError, simulate_session

    sensor = SensorSpec(accel_only=True) if accel_only else None
    exercises = tuple(exercise) if exercise else None
    side_s = None if side is None else str(side)
    if quick:
        spec = SessionSpec.quick(
            exercises[0] if exercises else None, sets=sets or 1, fs_hz=fs_hz, side=side_s, sensor=sensor
        )
    else:
        spec = SessionSpec(
            exercises=exercises, sets_per_exercise=sets, fs_hz=fs_hz, side=side_s, sensor=sensor
        )
    try:
        session = simulate_session(seed, spec=spec)
    except SimulationError as e:
        raise typer.BadParameter(str(e)) from e
    csv_path, truth_path = write_session(session, out)
    n_reps = sum(len(s["reps"]) for s in session.truth["sets"])
    typer.echo(
        f"wrote {csv_path} ({session.n_samples} samples at {session.fs_hz:g} Hz, "
        f"{session.duration_s / 60:.1f} min, {session.side} leg, {len(session.truth['sets'])} sets, "
        f"{n_reps} reps) and {truth_path}"
    )


@app.command("program")
def program_cmd(
    weeks: Annotated[int, typer.Option(help="Number of program weeks to simulate.")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and options give the same files.")],
    out: Annotated[Path, typer.Option(help="Directory for one CSV + truth per session and program.json.")],
    fs_hz: Annotated[
        float | None, typer.Option("--fs-hz", help="Sensor sample rate in Hz; default: drawn once.")
    ] = None,
    sessions_per_week: Annotated[
        int | None, typer.Option(help="Planned sessions a week (2 or 3); default: drawn.")
    ] = None,
    compact: Annotated[
        bool,
        typer.Option(help="Cheap sessions (short rests, no walking, no other-leg sets) for tests and demos."),
    ] = False,
    side: Annotated[SideOption | None, typer.Option(help="Sensor leg; default: drawn from the seed.")] = None,
) -> None:
    """Simulate a multi-week program with double progression and write every session plus program.json."""
    from simulate import SimulationError, program_to_json, simulate_program

    try:
        program = simulate_program(
            weeks,
            seed,
            sessions_per_week=sessions_per_week,
            fs_hz=fs_hz,
            compact=compact,
            side=None if side is None else str(side),
        )
    except SimulationError as e:
        raise typer.BadParameter(str(e)) from e
    out.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    for i, session in enumerate(program.sessions):
        name = f"session_{i + 1:03d}_{session.started_at:%Y%m%d}.csv"
        write_session(session, out / name)
        files.append(name)
    doc = program_to_json(program, files)
    (out / "program.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    missed = sum(1 for s in program.schedule if not s.done)
    typer.echo(
        f"wrote {len(files)} sessions ({missed} planned sessions missed) over {weeks} weeks and "
        f"{out / 'program.json'}"
    )
