"""``hipsync scan`` and ``hipsync record``: find sensors and record them to spools over Bluetooth LE.

Real hardware goes through bleak's platform backend. ``--virtual`` (or ``HIPSYNC_BLE=virtual``) swaps in
hipsync's bleak backend on bumble (:mod:`ingest.ble.virtual_backend`) with emulated sensors
(:mod:`ingest.emulator`) on an in-process link, so every command works, through the same code, on a
machine without Bluetooth. Data flows: targets (``--sensor`` or ``--virtual``) -> :func:`ingest.ble.record`
-> one spool per sensor in ``$HIPSYNC_HOME/spool`` -> a summary (``hipsync sync`` imports the spools).

bleak and bumble, and even asyncio, are imported inside the commands so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from hipsync.cli._utilities import VIRTUAL_HELP, ProfileOption, exit_with_error, short_exercise

if TYPE_CHECKING:
    from rich.console import Console

    from flows.live import LiveAnalyzer, LiveEvent, LiveRep, LiveSetEnd
    from ingest.ble.recorder import RecordSummary, RecordTarget, SensorStatus
    from ingest.emulator import EmulatedSensor
    from ingest.sensors import SensorEntry


class MotionOption(enum.StrEnum):
    """What emulated sensors measure in ``hipsync record --virtual``."""

    leg_raises = "leg-raises"
    simulated = "simulated"
    still = "still"


async def _start_emulators(
    specs: list[tuple[str, str | None, str | None]],
    motion: str = "leg-raises",
    seed: int = 0,
    time_scale: float = 1.0,
) -> list[EmulatedSensor]:
    """Start one emulated sensor per (profile, address, name) in the process' virtual world."""
    from ingest.ble.virtual_backend import current_world
    from ingest.emulator import (
        LegRaiseMotion,
        MotionSource,
        StillMotion,
        create_emulated_sensor,
        simulated_motion,
    )

    world = await current_world()
    counts: dict[str, int] = {}
    sensors: list[EmulatedSensor] = []
    for profile, address, name in specs:
        index = counts.get(profile, 0)
        counts[profile] = index + 1
        source: MotionSource
        if motion == MotionOption.simulated:
            source = simulated_motion(seed + len(sensors))
        elif motion == MotionOption.still:
            source = StillMotion()
        else:
            source = LegRaiseMotion()
        sensor = create_emulated_sensor(
            world, profile, index=index, address=address, name=name, motion=source, time_scale=time_scale
        )
        await sensor.start()
        sensors.append(sensor)
    return sensors


async def _stop_emulators(sensors: list[EmulatedSensor]) -> None:
    for s in sensors:
        await s.stop()


def _backends(virtual: bool) -> tuple[Any, Any]:
    from ingest.ble.virtual_backend import backend_for_mode

    return backend_for_mode(virtual)


def _is_virtual(virtual: bool) -> bool:
    from ingest.ble.virtual_backend import ble_mode_is_virtual

    return ble_mode_is_virtual(virtual)


async def scan_sensors(timeout_s: float, virtual: bool, show_all: bool) -> list[dict[str, Any]]:
    """Nearby sensors as JSON-ready rows (``ScanResult.to_json``); with ``virtual``, among emulated ones."""
    from ingest.ble.scan import scan
    from ingest.profiles import PROFILES

    emulators: list[EmulatedSensor] = []
    if _is_virtual(virtual):
        emulators = await _start_emulators([(p, None, None) for p in PROFILES])
    scanner_cls, _ = _backends(virtual)
    try:
        results = await scan(timeout_s, scanner_backend=scanner_cls, supported_only=not show_all)
    finally:
        await _stop_emulators(emulators)
    return [r.to_json() for r in results]


def bluetooth_unavailable(e: Exception) -> NoReturn:
    """Exit with status 3 and a hint: no usable Bluetooth adapter (or it is off)."""
    exit_with_error(
        f"{e}. Check that the adapter is on, or use --virtual / HIPSYNC_BLE=virtual for emulated sensors.",
        code=3,
    )


def scan(
    timeout: Annotated[float, typer.Option(help="Seconds to listen for advertisements.")] = 5.0,
    virtual: Annotated[bool, typer.Option("--virtual", help=VIRTUAL_HELP)] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list devices that are not supported sensors.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List nearby supported sensors: name, address, profile and signal strength (RSSI, dBm).

    Nothing is connected to. Add the ones you own with `hipsync sensors add ADDRESS --side left`.
    """
    import asyncio
    import json

    try:
        rows = asyncio.run(scan_sensors(timeout, virtual, show_all))
    except OSError as e:
        bluetooth_unavailable(e)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("No supported sensors found. Is the sensor awake (worn, or shaken) and not connected?")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("Name", "Address", "Profile", "RSSI (dBm)")
    for r in rows:
        table.add_row(str(r["name"] or "?"), r["address"], r["profile"] or "-", str(r["rssi"]))
    Console().print(table)


def record(
    sensor: Annotated[
        list[str] | None,
        typer.Option(
            "--sensor",
            help="Address or name of a configured sensor (repeat for two). Default: every configured sensor.",
        ),
    ] = None,
    virtual: Annotated[
        list[ProfileOption] | None,
        typer.Option(
            "--virtual",
            help="Record an emulated sensor of this model instead (repeat for two); bypasses the "
            "sensors list. Uses the bumble-based Bluetooth stack, no hardware needed.",
        ),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    until_idle: Annotated[
        float | None,
        typer.Option(help="Stop once no sensor has moved for this many minutes."),
    ] = None,
    connect_timeout: Annotated[
        float, typer.Option(help="Seconds to look for each sensor before giving up.")
    ] = 10.0,
    motion: Annotated[
        MotionOption,
        typer.Option(
            help="What emulated sensors measure (virtual mode only): slow leg raises, a session from "
            "the simulator, or lying still."
        ),
    ] = MotionOption.leg_raises,
    seed: Annotated[int, typer.Option(help="Simulator seed for --motion simulated.")] = 0,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="Show each rep (tempo phases, ROM, cues) and a summary per set while recording, on stderr.",
        ),
    ] = True,
    time_scale: Annotated[
        float, typer.Option("--time-scale", min=1.0, hidden=True, help="Emulated sensors' clock speed-up.")
    ] = 1.0,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a summary as JSON: spool, sensor, samples, expected_samples, gaps "
            "(a list when several sensors).",
        ),
    ] = False,
) -> None:
    """Record one or two sensors to crash-safe spool files until Ctrl-C, --duration or --until-idle.

    Shows a live status line (samples, rate, link state per sensor) and, as you train, each rep: its
    tempo phases (up, top, down, pause in s), ROM, and a cue when a rep is much faster than the first
    reps of its set, loses range, or slows (velocity loss); a summary when a set ends. Link drops and
    stalled streams are reconnected with backoff; the gap is recorded. Import the spools with
    `hipsync sync`.
    """
    import asyncio

    from ingest.ble.scan import BluetoothUnavailableError
    from ingest.errors import ControlPointError, SensorError, SensorNotFoundError
    from storage import paths

    if virtual and sensor:
        exit_with_error("use either --sensor or --virtual, not both")
    virtual_mode = bool(virtual) or _is_virtual(False)
    try:
        targets, emulate = _targets(sensor or [], [v.value for v in virtual or []], virtual_mode)
    except SensorError as e:
        exit_with_error(str(e), code=2)
    try:
        summaries = asyncio.run(
            _record(
                targets,
                emulate,
                paths.spool_dir(),
                virtual_mode=virtual_mode,
                duration_s=duration,
                until_idle_min=until_idle,
                connect_timeout_s=connect_timeout,
                live_status=not as_json,
                motion=motion.value,
                seed=seed,
                live=live,
                time_scale=time_scale,
            )
        )
    except SensorNotFoundError as e:
        exit_with_error(str(e), code=2)
    except BluetoothUnavailableError as e:
        bluetooth_unavailable(e)
    except ControlPointError as e:
        exit_with_error(f"the sensor refused to stream: {e}", code=4)
    except SensorError as e:
        exit_with_error(str(e))
    except OSError as e:
        bluetooth_unavailable(e)
    _print_summaries(summaries, as_json)
    if any(s.stop_reason == "failed" for s in summaries):
        raise typer.Exit(code=1)


def _targets(
    sensors: list[str], virtual_profiles: list[str], virtual_mode: bool
) -> tuple[list[RecordTarget], list[tuple[str, str | None, str | None]]]:
    """Recording targets, and the emulated sensors to start for them (empty on hardware)."""
    from ingest.ble.recorder import RecordTarget
    from ingest.emulator import emulated_address
    from ingest.errors import SensorNotFoundError
    from ingest.sensors import find_sensor, load_sensors
    from storage import paths

    if virtual_profiles:
        targets = []
        counts: dict[str, int] = {}
        for profile in virtual_profiles:
            index = counts.get(profile, 0)
            counts[profile] = index + 1
            address = emulated_address(profile, index)
            targets.append(RecordTarget(address=address, profile=profile, side=None, name=None))
        specs: list[tuple[str, str | None, str | None]] = [(t.profile, t.address, None) for t in targets]
        return targets, specs
    configured = load_sensors(paths.sensors_path())
    entries: list[SensorEntry] = (
        [find_sensor(configured, s) for s in sensors] if sensors else list(configured)
    )
    if not entries:
        raise SensorNotFoundError(
            "no sensors configured: find yours with `hipsync scan`, add it with "
            "`hipsync sensors add ADDRESS --side left|right`, "
            "or try `hipsync record --virtual polar-verity-sense`.",
            target=None,
        )
    if len(entries) > 2:
        raise SensorNotFoundError(
            f"{len(entries)} sensors configured; pick one or two with --sensor", target=None
        )
    targets = [RecordTarget(address=e.address, profile=e.profile, side=e.side, name=e.name) for e in entries]
    emulate: list[tuple[str, str | None, str | None]] = (
        [(e.profile, e.address, e.name) for e in entries] if virtual_mode else []
    )
    return targets, emulate


async def _record(
    targets: list[RecordTarget],
    emulate: list[tuple[str, str | None, str | None]],
    spool_dir: Path,
    *,
    virtual_mode: bool,
    duration_s: float | None,
    until_idle_min: float | None,
    connect_timeout_s: float,
    live_status: bool,
    motion: str = "leg-raises",
    seed: int = 0,
    live: bool = False,
    time_scale: float = 1.0,
) -> list[RecordSummary]:
    import asyncio
    import contextlib
    import signal

    from flows.live import LiveAnalyzer
    from ingest.ble.recorder import record

    scanner_cls, client_cls = _backends(virtual_mode)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    emulators = await _start_emulators(emulate, motion, seed, time_scale) if emulate else []
    status = _StatusLine(enabled=live_status)
    lines = LiveLines(status.console, {t.address: t.label for t in targets} if len(targets) > 1 else {})
    analyzer = LiveAnalyzer(lines.show) if live else None
    status.analyzer = analyzer
    try:
        with status, analyzer or contextlib.nullcontext():
            return await record(
                targets,
                spool_dir,
                duration_s=duration_s,
                until_idle_min=until_idle_min,
                stop_event=stop,
                scanner_backend=scanner_cls,
                client_backend=client_cls,
                connect_timeout_s=connect_timeout_s,
                on_status=status.update,
                on_samples=None if analyzer is None else analyzer.observe,
            )
    finally:
        await _stop_emulators(emulators)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)


class _StatusLine:
    """A rich live line on stderr: per sensor, link state, samples and rate (and the set in progress)."""

    def __init__(self, *, enabled: bool) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.analyzer: LiveAnalyzer | None = None
        self._live: Live | None = (
            Live(console=self.console, refresh_per_second=4, transient=False)
            if enabled and self.console.is_terminal
            else None
        )

    def __enter__(self) -> _StatusLine:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, statuses: list[SensorStatus]) -> None:
        if self._live is None:
            return
        from rich.text import Text

        parts = []
        sets = {} if self.analyzer is None else self.analyzer.current_sets()
        for s in statuses:
            current = sets.get(s.sensor)
            in_set = (
                ""
                if current is None
                else f" [cyan]set {current[0]} {short_exercise(current[1])}: {current[2]} reps[/cyan]"
            )
            colour = {"streaming": "green", "reconnecting": "yellow", "failed": "red"}.get(
                str(s.state), "white"
            )
            parts.append(
                f"[bold]{s.name or s.sensor}[/bold] [{colour}]{s.state}[/{colour}] "
                f"{s.samples} samples {s.rate_hz:5.1f} Hz"
                + (f" reconnects {s.reconnects}" if s.reconnects else "")
                + (f" malformed {s.malformed}" if s.malformed else "")
                + in_set
            )
        self._live.update(Text.from_markup("   |   ".join(parts) + "   (Ctrl-C to stop)"))


def rep_line(event: LiveRep) -> str:
    """One rep of the live view: set, exercise, rep number, phases (s), ROM and the cues."""
    from flows.live import tempo_text

    p = event.rep.phases()
    pause = "" if event.pause_before_s is None else f", pause {event.pause_before_s:.1f}"
    line = (
        f"set {event.set_number} {short_exercise(event.exercise)} rep {event.rep_number}: "
        f"up {p.concentric_s:.1f}, top {p.top_hold_s:.1f}, down {p.eccentric_s:.1f}{pause} s "
        f"(tempo {tempo_text(event.rep, event.pause_before_s)}), ROM {event.rep.rom_deg:.0f} deg"
    )
    return line + (f"  ! {event.cue_text}" if event.cues else "")


def set_line(event: LiveSetEnd) -> str:
    """The summary of a finished set: reps, ROM, mean phases, velocity loss, reps cued."""
    loss = "" if event.velocity_loss is None else f", velocity loss {event.velocity_loss:.0%}"
    cued = f", {event.n_cued} reps cued" if event.n_cued else ""
    return (
        f"set {event.set_number} {short_exercise(event.exercise)} done: {event.n_reps} reps, "
        f"ROM {event.rom_deg:.0f} deg ({event.rom_min_deg:.0f}-{event.rom_max_deg:.0f}), "
        f"up/top/down {event.mean_concentric_s:.1f}/{event.mean_top_hold_s:.1f}/"
        f"{event.mean_eccentric_s:.1f} s{loss}{cued}"
    )


class LiveLines:
    """Prints the live view's events, one line each, on ``console`` (above a rich live status line).

    ``labels`` maps sensor addresses to the names put in front of each line (with two sensors).
    Called from the analysis thread; rich's console serialises the writes.
    """

    def __init__(self, console: Console | None = None, labels: dict[str, str] | None = None) -> None:
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        self.console = console
        self.labels = labels or {}

    def show(self, event: LiveEvent) -> None:
        from flows.live import LiveRep

        label = self.labels.get(event.sensor)
        prefix = f"{label}: " if label else ""
        if isinstance(event, LiveRep):
            text, style = rep_line(event), "yellow" if event.cues else None
        else:
            text, style = set_line(event), "bold"
        self.console.print(prefix + text, style=style, highlight=False, soft_wrap=True)


def _print_summaries(summaries: list[RecordSummary], as_json: bool) -> None:
    import json

    if as_json:
        docs = [s.to_json() for s in summaries]
        typer.echo(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))
        return
    for s in summaries:
        pct = 100.0 * s.samples / s.expected_samples if s.expected_samples else 0.0
        gaps = ", ".join(f"{g.start_s:.1f}-{g.end_s:.1f} s" for g in s.gaps) or "none"
        typer.echo(
            f"{s.name or s.sensor} ({s.profile}): {s.samples} of {s.expected_samples} samples "
            f"({pct:.1f} %), gaps: {gaps}, reconnects: {s.reconnects}, stopped: {s.stop_reason}\n"
            f"  spool: {s.spool}"
        )
