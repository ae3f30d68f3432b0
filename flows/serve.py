"""``hipsync serve``: record whenever a configured sensor is worn, sync after each session, report weekly.

One asyncio loop owns everything:

- **watch and record**: look for the sensors in ``sensors.json`` (or, with ``virtual_profile``, an emulated
  sensor on the virtual BLE link that the user "puts on" every visit); when one is found, record it with
  :func:`ingest.ble.recorder.record` until it has been still for ``idle_min`` minutes or its link is gone for
  good; then wait ``rearm_s`` before looking again (so a sensor lying on the desk is not recorded over and
  over);
- **sync**: run the ``sync-sessions`` flow at start-up (catch-up for spools left by an earlier run) and
  after every closed session;
- **schedules**: a Prefect runner serves two deployments: ``sync-sessions/hipsync-catch-up`` every
  ``catchup_interval_s`` and ``weekly-report/hipsync-weekly-report`` on ``report_cron`` (default Monday
  07:00 in the local time zone). Prefect's embedded server is used unless ``PREFECT_API_URL`` is set.

Shutdown (Ctrl-C or SIGTERM) sets one event: the recorder closes an open spool properly (it is complete
up to that moment and is synced on the next start), the runner stops, nothing is synced on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.runner import Runner
from prefect.schedules import Cron, Interval
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.report_flow import weekly_report
from flows.sync_flow import sync_sessions
from hipsync.records import Side
from ingest.ble.recorder import Backoff, RecordTarget, record
from ingest.ble.virtual_backend import backend_for_mode, current_world
from ingest.emulator import LegRaiseMotion, StillMotion, create_emulated_sensor
from ingest.errors import SensorNotFoundError
from ingest.sensors import load_sensors
from storage import paths

logger = logging.getLogger(__name__)

DEFAULT_REPORT_CRON = "0 7 * * 1"
CATCHUP_DEPLOYMENT = "hipsync-catch-up"
REPORT_DEPLOYMENT = "hipsync-weekly-report"

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    """Settings of one ``hipsync serve`` process (times in seconds unless named ``_min``)."""

    home: Path
    virtual_profile: str | None = None
    virtual_active_s: float = 90.0
    time_scale: float = 1.0
    idle_min: float = 2.0
    rearm_s: float = 300.0
    rescan_s: float = 10.0
    link_give_up_s: float = 60.0
    report_cron: str = DEFAULT_REPORT_CRON
    timezone: str | None = None
    catchup_interval_s: float = 3600.0
    schedules: bool = True
    max_sessions: int | None = None


@dataclass(slots=True)
class ServeStats:
    """What a serve run did (filled in while it runs)."""

    recordings: list[Path] = field(default_factory=list)
    syncs: list[list[dict[str, Any]]] = field(default_factory=list)
    interrupted_recording: Path | None = None
    deployments: list[str] = field(default_factory=list)


class WorkoutMotion:
    """A virtual workout: leg raises for ``active_s`` sensor seconds, then lying still (the session ends).

    Implements ``ingest.emulator.MotionSource``.
    """

    def __init__(self, active_s: float) -> None:

        self.active_s = active_s
        self._moving = LegRaiseMotion()
        self._still = StillMotion()

    def sample(self, time_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        t = np.asarray(time_s, dtype=np.float64)
        acc, gyr = self._moving.sample(t)
        sacc, sgyr = self._still.sample(t)
        rest = t >= self.active_s
        acc[rest], gyr[rest] = sacc[rest], sgyr[rest]
        return acc, gyr


def local_timezone_name() -> str:
    """The IANA name of the local time zone (``$TZ``, ``/etc/localtime``), ``UTC`` if unknown."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz:
        return tz
    with contextlib.suppress(OSError):
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    return "UTC"


class PrefectServer:
    """Prefect's embedded API server, started in a background thread so its start-up overlaps other work.

    Without ``PREFECT_API_URL`` Prefect would start the same server lazily on the first flow run, with a
    20 s start-up timeout that a busy 2-core machine can miss; this starts it early with a generous one.
    With ``PREFECT_API_URL`` set nothing is started and that server is used.

    Use ``with PrefectServer() as api_url:`` ... the settings point at the server inside.
    """

    def __init__(self, startup_timeout_s: int = 180) -> None:

        self.external_url: str | None = PREFECT_API_URL.value() or None
        self._server: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if self.external_url is None:
            # Imported only here: Prefect's server app takes seconds to import, and is not needed at all
            # when PREFECT_API_URL points at a running server.
            from prefect.server.api.server import SubprocessASGIServer

            # A local, private server: no usage telemetry (it also fails noisily when offline).
            os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

            # The default (None-keyed) instance: Prefect's own code that looks for the ephemeral server
            # during flow runs finds this one instead of starting a second.
            self._server = SubprocessASGIServer()
            self._thread = threading.Thread(
                target=self._start, args=(startup_timeout_s,), name="prefect-server-start", daemon=True
            )
            self._thread.start()

    def _start(self, timeout_s: int) -> None:
        try:
            self._server.start(timeout=timeout_s)
        except BaseException as e:  # re-raised in the main thread by __enter__
            self._error = e

    @property
    def api_url(self) -> str:
        return self.external_url or str(self._server.api_url)

    def __enter__(self) -> str:

        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        self._settings = temporary_settings(updates={PREFECT_API_URL: self.api_url})
        self._settings.__enter__()
        return self.api_url

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            # Send pending run logs and events while the server is still up: Prefect's exit handlers
            # would otherwise wait forever for a server that is gone.
            drain_prefect_workers()
        self._settings.__exit__(None, None, None)
        if self._server is not None:
            self._server.stop()


def drain_prefect_workers() -> None:
    """Flush Prefect's background log and event workers (what its own test harness does before stopping)."""

    async def drain() -> None:
        with contextlib.suppress(RuntimeError):  # a worker that never started
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        events: Any = EventsWorker.drain_all()
        if inspect.isawaitable(events):
            await events

    run_coro_as_sync(drain())


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _sync(cfg: ServeConfig, why: str, stats: ServeStats) -> None:

    logger.info("sync-sessions (%s)", why)
    try:
        # The flow is synchronous (DuckDB writes): keep it off the loop that carries the BLE traffic.
        result = await asyncio.to_thread(sync_sessions, home=str(cfg.home))
    except Exception:
        # A failed sync must not stop recording; the spools stay and the next sync picks them up.
        logger.exception("sync-sessions failed (%s); will retry on the next trigger", why)
        return
    stats.syncs.append(result)


async def start_runner(cfg: ServeConfig) -> tuple[Any, asyncio.Task[None], list[str]]:
    """Register the catch-up and weekly-report deployments and start a Prefect runner serving them."""

    tz = cfg.timezone or local_timezone_name()
    interval = timedelta(seconds=cfg.catchup_interval_s)
    runner = Runner(name="hipsync-serve", pause_on_shutdown=False)
    catchup = await sync_sessions.ato_deployment(
        name=CATCHUP_DEPLOYMENT,
        # Anchored one interval ahead: the start-up sync already covers "now".
        schedules=[Interval(interval, anchor_date=datetime.now(UTC) + interval, timezone=tz)],
        parameters={"home": str(cfg.home)},
        description="Import finished spools that no session-close trigger picked up",
    )
    report = await weekly_report.ato_deployment(
        name=REPORT_DEPLOYMENT,
        schedules=[Cron(cfg.report_cron, timezone=tz)],
        parameters={"home": str(cfg.home)},
        description="The weekly hip training report for the last complete week",
    )
    for d in (catchup, report):
        await runner.aadd_deployment(d)
    task = asyncio.create_task(runner.start(), name="prefect-runner")
    for _ in range(300):  # the runner connects to the API first; wait until it polls
        if runner.started or task.done():
            break
        await asyncio.sleep(0.1)
    if task.done():
        task.result()  # raise its error
    return runner, task, [f"sync-sessions/{CATCHUP_DEPLOYMENT}", f"weekly-report/{REPORT_DEPLOYMENT}"]


async def _record_once(cfg: ServeConfig, stop: asyncio.Event) -> list[Any]:
    """One visit: find a sensor and record it until idle, link loss or ``stop``; [] if none was found."""

    scanner, client = backend_for_mode(cfg.virtual_profile is not None)
    kwargs: dict[str, Any] = {
        "until_idle_min": cfg.idle_min,
        "stop_event": stop,
        "connect_timeout_s": cfg.rescan_s,
        "backoff": Backoff(give_up_after_s=cfg.link_give_up_s),
        "scanner_backend": scanner,
        "client_backend": client,
    }
    spools = paths.spool_dir(cfg.home)
    try:
        if cfg.virtual_profile is not None:
            world = await current_world()
            sensor = create_emulated_sensor(
                world,
                cfg.virtual_profile,
                motion=WorkoutMotion(cfg.virtual_active_s),
                time_scale=cfg.time_scale,
            )
            async with sensor:
                target = RecordTarget(
                    address=sensor.address, profile=cfg.virtual_profile, side=Side.LEFT, name=sensor.name
                )
                return list(await record([target], spools, **kwargs))
        entries = load_sensors(paths.sensors_path(cfg.home)) if paths.sensors_path(cfg.home).exists() else []
        if not entries:
            logger.warning("no sensors configured (hipsync sensors add ...); waiting")
            await _wait(stop, cfg.rescan_s)
            return []
        targets = [
            RecordTarget(address=e.address, profile=e.profile, side=e.side, name=e.name) for e in entries
        ]
        return list(await record(targets, spools, **kwargs))
    except SensorNotFoundError:
        return []


async def serve_async(
    cfg: ServeConfig,
    stop: asyncio.Event,
    *,
    on_ready: Callable[[], None] | None = None,
    on_event: Callable[[str], None] | None = None,
) -> ServeStats:
    """Run until ``stop`` is set (or ``max_sessions`` sessions were recorded and synced)."""
    stats = ServeStats()
    say = on_event or (lambda msg: logger.info("%s", msg))
    runner: Any = None
    runner_task: asyncio.Task[None] | None = None
    if cfg.schedules:
        runner, runner_task, stats.deployments = await start_runner(cfg)
        say(f"serving {', '.join(stats.deployments)} (weekly report cron {cfg.report_cron!r})")
    if on_ready is not None:
        on_ready()
    try:
        await _sync(cfg, "start-up catch-up", stats)
        while not stop.is_set():
            say("waiting for a sensor to connect")
            summaries = await _record_once(cfg, stop)
            if not summaries:
                await _wait(stop, cfg.rescan_s)
                continue
            for s in summaries:
                stats.recordings.append(s.spool)
                say(f"session closed ({s.stop_reason}): {s.samples} samples in {s.spool.name}")
            if stop.is_set():
                # Interrupted mid-session: the spool is closed and complete so far; sync it next time.
                stats.interrupted_recording = summaries[0].spool
                break
            await _sync(cfg, "session closed", stats)
            if cfg.max_sessions is not None and len(stats.recordings) >= cfg.max_sessions:
                break
            await _wait(stop, cfg.rearm_s)
    finally:
        if runner is not None and runner_task is not None:
            with contextlib.suppress(Exception):
                await runner.astop()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(runner_task, 15)
    return stats
