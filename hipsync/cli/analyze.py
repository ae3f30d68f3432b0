"""``hipsync analyze FILE``: sets, reps, tempo, ROM and exercise of one recording, without a database.

File -> :func:`ingest.files.read_recording_file` (CSV/Parquet ``time,ax,ay,az[,gx,gy,gz]``, spools and the
two public real-data formats) -> :func:`processing.analyze` -> a table or ``--json``. The readers and the
analysis (NumPy, SciPy, pyarrow) are imported inside the command so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hipsync.cli._utilities import AccUnits, GyroUnits, exit_with_error

if TYPE_CHECKING:
    from hipsync.records import Recording, SessionAnalysis

TEMPO_ORDER = "eccentric-bottom pause-concentric-top hold"


def _fmt(x: float | None, nd: int = 1) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def render_table(analysis: SessionAnalysis) -> object:
    """A rich Table with one row per set (returned as ``object`` to keep rich out of module imports)."""
    import numpy as np
    from rich.table import Table

    table = Table(
        title="hipsync analysis",
        caption=(
            f"Phase means in seconds. Tempo = {TEMPO_ORDER} (coaches' order, lowering first). "
            "ROM = median range of motion. VL = velocity loss (drop of concentric speed, first reps to last)."
        ),
    )
    for col, just in (
        ("#", "right"),
        ("exercise", "left"),
        ("side", "left"),
        ("start s", "right"),
        ("reps", "right"),
        ("con/hold/ecc/pause s", "center"),
        ("tempo", "center"),
        ("ROM deg", "right"),
        ("VL", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for i, s in enumerate(analysis.sets, start=1):
        phases = s.tempo()
        con = float(np.mean([p.concentric_s for p in phases]))
        hold = float(np.mean([p.top_hold_s for p in phases]))
        ecc = float(np.mean([p.eccentric_s for p in phases]))
        pauses = [p.bottom_pause_s for p in phases if p.bottom_pause_s is not None]
        pause = float(np.mean(pauses)) if pauses else None
        tempo = f"{ecc:.0f}-{pause or 0.0:.0f}-{con:.0f}-{hold:.0f}"
        rom = float(np.median([r.rom_deg for r in s.reps]))
        partial = sum(r.partial for r in s.reps)
        table.add_row(
            str(i),
            str(s.exercise),
            "-" if s.side is None else str(s.side),
            f"{s.start_s:.0f}",
            f"{len(s.reps)}" + (f" ({partial} partial)" if partial else ""),
            f"{_fmt(con)} / {_fmt(hold)} / {_fmt(ecc)} / {_fmt(pause)}",
            tempo,
            _fmt(rom),
            "-" if s.velocity_loss is None else f"{100 * s.velocity_loss:.0f}%",
        )
    return table


def render_explanation(analysis: SessionAnalysis) -> object:
    """A rich Table of every movement period the analysis considered and why it was or was not counted."""
    from rich.table import Table

    table = Table(
        title="movement periods considered",
        caption=(
            "excursions = rep-like excursions seen; ROM = median range of the reps judged; CV = robust "
            "spread of the ranges within a block of like reps; rep s = median rep duration."
        ),
    )
    for col, just in (
        ("from s", "right"),
        ("to s", "right"),
        ("verdict", "left"),
        ("reason", "left"),
        ("excursions", "right"),
        ("reps", "right"),
        ("ROM deg", "right"),
        ("CV", "right"),
        ("rep s", "right"),
        ("why", "left"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for per in analysis.considered:
        table.add_row(
            f"{per.start_s:.1f}",
            f"{per.end_s:.1f}",
            "[green]counted[/green]" if per.counted else "not counted",
            per.reason,
            str(per.excursions),
            str(per.reps_counted),
            _fmt(per.median_rom_deg),
            _fmt(per.rom_cv, 2),
            _fmt(per.median_rep_s),
            per.detail,
        )
    return table


def plot_explanation(recording: Recording, analysis: SessionAnalysis, out: Path) -> None:
    """A PNG of the recording as the analysis saw it: per considered period the rotation angle about its
    own axis (counted sets in green with every rep shaded, the rest in grey with the reason), and the
    angular speed below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from processing.explain import explain_signals

    sig = explain_signals(recording, analysis)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(16, 6), sharex=True, height_ratios=(3, 1))
    for tr in sig.traces:
        per = tr.period
        ax.plot(
            tr.time_s, tr.angle_deg - tr.angle_deg.min(), color="tab:green" if per.counted else "0.5", lw=0.8
        )
        ax.axvspan(per.start_s, per.end_s, color="tab:green" if per.counted else "0.85", alpha=0.12, lw=0)
        ax.annotate(per.reason, (per.start_s, 1.0), xycoords=("data", "axes fraction"), fontsize=7, va="top")
    for s in analysis.sets:
        for r in s.reps:
            ax.axvspan(r.start_s, r.end_s, ymin=0.0, ymax=0.06, color="tab:green", alpha=0.8, lw=0)
    ax.set_ylabel("angle about the period's axis, deg")
    ax.set_title(f"{len(analysis.sets)} sets, {sum(len(s.reps) for s in analysis.sets)} reps; bars = reps")
    ax2.plot(sig.time_s, sig.speed_dps, color="tab:blue", lw=0.5)
    ax2.set_ylabel("angular speed, deg/s")
    ax2.set_xlabel("time, s")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def analyze_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help=(
                "Recording to analyse: CSV or Parquet with columns time,ax,ay,az[,gx,gy,gz] (seconds, "
                "acceleration, angular rate), a hipsync spool, or a UCI PT / MEx file."
            ),
        ),
    ],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the analysis as JSON (sets with reps and phase times) instead of a table.",
        ),
    ] = False,
    acc_units: Annotated[
        AccUnits, typer.Option("--acc-units", help="Units of ax,ay,az in CSV/Parquet files: g or m/s2.")
    ] = AccUnits.g,
    gyro_units: Annotated[
        GyroUnits,
        typer.Option("--gyro-units", help="Units of gx,gy,gz in CSV/Parquet files: dps (deg/s) or rad/s."),
    ] = GyroUnits.dps,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help=(
                "Also list every movement period the analysis considered and why it was or was not counted "
                "(with --json: under the key 'considered')."
            ),
        ),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write a PNG of the signal as the analysis saw it, with the reps and the rejected periods.",
        ),
    ] = None,
) -> None:
    """Find sets, reps, tempo phases, range of motion and the exercise in one recording."""
    from hipsync.records import RecordingError, analysis_to_json
    from ingest.checks import check_recording
    from ingest.errors import SensorError
    from ingest.files import read_recording_file
    from processing import analyze

    if file.is_dir():
        exit_with_error(
            f"{file} is a directory; give one recording file (CSV, Parquet, spool, UCI PT, MEx)", code=2
        )
    if not file.is_file():
        exit_with_error(f"no such file: {file}", code=2)
    try:
        recording = read_recording_file(file, acc_units=acc_units.value, gyro_units=gyro_units.value)
        check_recording(recording, file)  # before the analysis, which fails deep inside on nonsense
    except (SensorError, RecordingError, ValueError, OSError) as e:
        exit_with_error(str(e), code=2)
    try:
        analysis = analyze(recording)
    except Exception as e:  # whatever the analysis raises: one line, not a traceback
        exit_with_error(f"the analysis of {file} failed: {type(e).__name__}: {e}")
    if plot is not None:
        try:
            plot_explanation(recording, analysis, plot)
        except OSError as e:
            exit_with_error(f"cannot write {plot}: {e}", code=2)
    if as_json:
        typer.echo(json.dumps(analysis_to_json(analysis, explain=explain)))
        return
    from rich.console import Console  # rich's console is slow to import: only for the table

    console = Console()
    if not analysis.sets:
        hint = "" if explain else "; --explain lists the movement periods considered and why"
        console.print(f"No sets found in {file} ({recording.duration_s:.0f} s analysed{hint}).")
    else:
        console.print(render_table(analysis))
    if explain:
        console.print(render_explanation(analysis))
    for w in analysis.quality.get("warnings", []):
        console.print(f"[yellow]note:[/yellow] {w}")
    if plot is not None:
        console.print(f"plot written to {plot}")
