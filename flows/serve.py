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
A sync that is running is given ``shutdown_grace_s`` to finish, then left (it runs on a daemon thread;
its DuckDB transaction either commits or leaves nothing, and the next sync does the rest). The embedded
server (:class:`PrefectServer`) runs in its own session, so a Ctrl-C at the terminal (which signals the
whole foreground process group) does not kill it under the flows still talking to it: it is stopped last.

The embedded server accepts only requests that carry a token made at start (Prefect's
``PREFECT_SERVER_API_AUTH_STRING``; the client side gets it as ``PREFECT_API_AUTH_STRING``), allows no
cross-origin requests, keeps its database under ``$HIPSYNC_HOME/prefect`` (mode 0700), and serves no UI,
so no flow-run links are printed for it. The deployed flows take no parameters (:mod:`flows.scheduled`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import inspect
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
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
from prefect.settings import (
    PREFECT_API_AUTH_STRING,
    PREFECT_API_URL,
    PREFECT_UI_URL,
    temporary_settings,
)
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.live import LiveAnalyzer, LiveEvent
from flows.scheduled import catch_up_sync, scheduled_weekly_report
from flows.sync_flow import sync_sessions
from hipsync.records import Side
from ingest.ble.recorder import Backoff, RecordTarget, SampleObserver, record
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
    shutdown_grace_s: float = 3.0


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


def prefect_home(home: Path) -> Path:
    """Where the embedded server keeps its database and Prefect its files: ``home/prefect``, mode 0700
    (its log lines name sensors by address)."""
    path = home / "prefect"
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Runs in the server's process before uvicorn: on Linux, ask for a SIGTERM when the parent (serve) dies,
#: so that a ``kill -9`` of serve leaves no server behind (the request survives the exec), then exec.
_SERVER_LAUNCHER = """
import ctypes, os, signal, sys
os.umask(0o077)  # its database and logs: owner only
parent = int(sys.argv[1])
if sys.platform.startswith("linux"):
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        sys.exit(1)
os.execv(sys.executable, [sys.executable, "-m", "uvicorn", *sys.argv[2:]])
"""


class PrefectServer:
    """Prefect's API server for hipsync alone, started in a background thread so its start-up overlaps
    other work.

    Unlike the server Prefect starts by itself (``SubprocessASGIServer``), this one: requires a token made
    here (``PREFECT_SERVER_API_AUTH_STRING``; the client sends it as ``PREFECT_API_AUTH_STRING``), allows
    no cross-origin browser requests (``PREFECT_SERVER_CORS_ALLOWED_ORIGINS`` is its own address, and it
    serves no page), keeps its database in :func:`prefect_home`, runs in its own session so a Ctrl-C
    meant for hipsync reaches hipsync first, and is stopped last by :meth:`__exit__` (or at exit).
    With ``PREFECT_API_URL`` set nothing is started and that server is used as it is.

    Use ``with PrefectServer(home) as api_url:`` ... the settings point at the server inside.
    """

    def __init__(self, home: Path | None = None, startup_timeout_s: float = 180.0) -> None:
        self.external_url: str | None = PREFECT_API_URL.value() or None
        self.process: subprocess.Popen[bytes] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._token = secrets.token_urlsafe(32)
        self._port = 0
        if self.external_url is None:
            self.home = prefect_home(home if home is not None else paths.hipsync_home())
            # Started from this thread: Linux sends the parent-death signal when the *thread* that
            # started a child ends, so the start-up thread below only waits for the server to answer.
            self._launch()
            self._thread = threading.Thread(
                target=self._wait_ready, args=(startup_timeout_s,), name="prefect-server-start", daemon=True
            )
            self._thread.start()

    @property
    def api_url(self) -> str:
        return self.external_url or f"http://127.0.0.1:{self._port}/api"

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_API_AUTH_STRING=self._token,
            PREFECT_SERVER_CORS_ALLOWED_ORIGINS=f"http://127.0.0.1:{self._port}",
            PREFECT_UI_ENABLED="0",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            # What Prefect's own subprocess server sets: serve the API and run its services in-process.
            PREFECT__SERVER_EPHEMERAL="1",
            PREFECT__SERVER_FINAL="1",
            PREFECT_LOGGING_SERVER_LEVEL="WARNING",
        )
        return env

    def _launch(self) -> None:
        self._port = _free_port()
        uvicorn = ["--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1"]
        uvicorn += ["--port", str(self._port), "--log-level", "error", "--lifespan", "on"]
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER_LAUNCHER, str(os.getpid()), *uvicorn],
            env=self._environment(),
            # Its own session: a Ctrl-C at the terminal signals our process group, not the server.
            start_new_session=True,
        )
        atexit.register(self.stop)

    def _wait_ready(self, timeout_s: float) -> None:
        import httpx  # comes with Prefect

        try:
            deadline = time.monotonic() + timeout_s
            with httpx.Client() as client:
                while time.monotonic() < deadline:
                    assert self.process is not None
                    if self.process.poll() is not None:
                        raise RuntimeError(f"Prefect server exited with code {self.process.returncode}")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{self.api_url}/health", timeout=2.0).status_code == 200:
                            return
                    time.sleep(0.2)
            raise RuntimeError(f"Prefect server did not start within {timeout_s:g} s")
        except BaseException as e:  # re-raised in the main thread by __enter__
            self._error = e
            self.stop()

    def __enter__(self) -> str:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        updates: dict[Any, Any] = {PREFECT_API_URL: self.api_url}
        if self.external_url is None:
            # No UI here: Prefect would print "View at <url>" links that 404.
            updates |= {PREFECT_API_AUTH_STRING: self._token, PREFECT_UI_URL: ""}
        self._settings = temporary_settings(updates=updates)
        self._settings.__enter__()
        return self.api_url

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            # Send pending run logs and events while the server is still up: Prefect's exit handlers
            # would otherwise wait for a server that is gone.
            with contextlib.suppress(Exception):
                drain_prefect_workers()
        self._settings.__exit__(None, None, None)
        self.stop()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s); safe to call more than once."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


async def _in_daemon_thread(fn: Callable[[], Any], stop: asyncio.Event, grace_s: float) -> Any:
    """Run ``fn`` on a daemon thread; once ``stop`` is set, wait at most ``grace_s`` more for it.

    Raises TimeoutError when it was left running (a daemon thread never holds up the process' exit,
    unlike ``asyncio.to_thread``, whose executor threads are joined at exit).
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not done.done():
            outcome()

    def run() -> None:
        try:
            result = fn()
        except BaseException as e:  # handed to the loop, raised there
            err = e
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(settle, lambda: done.set_exception(err))
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, lambda: done.set_result(result))

    # In a copy of this context: Prefect's settings (the API URL and token) live in context variables,
    # which a plain thread would not see (it would start a server of its own).
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name="hipsync-flow", daemon=True).start()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({done, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not done.done():
        await asyncio.wait({done}, timeout=grace_s)
    if not done.done():
        raise TimeoutError("still running at shutdown")
    return done.result()


async def _sync(cfg: ServeConfig, why: str, stats: ServeStats, stop: asyncio.Event) -> None:
    logger.info("sync-sessions (%s)", why)
    try:
        # The flow is synchronous (DuckDB writes): keep it off the loop that carries the BLE traffic.
        result = await _in_daemon_thread(
            lambda: sync_sessions(home=str(cfg.home)), stop, cfg.shutdown_grace_s
        )
    except TimeoutError:
        logger.warning("sync-sessions (%s) still running at shutdown; the next sync finishes it", why)
        return
    except Exception:
        # A failed sync must not stop recording; the spools stay and the next sync picks them up.
        logger.exception("sync-sessions failed (%s); will retry on the next trigger", why)
        return
    stats.syncs.append(result)


async def start_runner(cfg: ServeConfig) -> tuple[Any, asyncio.Task[None], list[str]]:
    """Register the catch-up and weekly-report deployments and start a Prefect runner serving them."""

    tz = cfg.timezone or local_timezone_name()
    interval = timedelta(seconds=cfg.catchup_interval_s)
    # The home is bound here, for this process and the flow runs it starts: the deployed flows take no
    # parameters (flows.scheduled), so no caller of the API can point them elsewhere.
    os.environ["HIPSYNC_HOME"] = str(cfg.home)
    runner = Runner(name="hipsync-serve", pause_on_shutdown=False)
    catchup = await catch_up_sync.ato_deployment(
        name=CATCHUP_DEPLOYMENT,
        # Anchored one interval ahead: the start-up sync already covers "now".
        schedules=[Interval(interval, anchor_date=datetime.now(UTC) + interval, timezone=tz)],
        description="Import finished spools that no session-close trigger picked up",
    )
    report = await scheduled_weekly_report.ato_deployment(
        name=REPORT_DEPLOYMENT,
        schedules=[Cron(cfg.report_cron, timezone=tz)],
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


async def _record_once(
    cfg: ServeConfig, stop: asyncio.Event, on_live: Callable[[LiveEvent], None] | None = None
) -> list[Any]:
    """One visit: find a sensor and record it until idle, link loss or ``stop``; [] if none was found.

    With ``on_live`` the live rep view runs during the recording (:class:`flows.live.LiveAnalyzer`).
    """
    if on_live is None:
        return await _record_visit(cfg, stop, None)
    with LiveAnalyzer(on_live) as live:
        return await _record_visit(cfg, stop, live.observe)


async def _record_visit(
    cfg: ServeConfig, stop: asyncio.Event, on_samples: SampleObserver | None
) -> list[Any]:
    scanner, client = backend_for_mode(cfg.virtual_profile is not None)
    kwargs: dict[str, Any] = {
        "on_samples": on_samples,
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
    on_live: Callable[[LiveEvent], None] | None = None,
) -> ServeStats:
    """Run until ``stop`` is set (or ``max_sessions`` sessions were recorded and synced).

    ``on_event`` receives one-line progress messages, ``on_live`` the live rep view's events.
    """
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
        await _sync_and_say(cfg, "start-up catch-up", stats, stop, say)
        while not stop.is_set():
            say("waiting for a sensor to connect")
            summaries = await _record_once(cfg, stop, on_live)
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
            await _sync_and_say(cfg, "session closed", stats, stop, say)
            if cfg.max_sessions is not None and len(stats.recordings) >= cfg.max_sessions:
                break
            await _wait(stop, cfg.rearm_s)
    finally:
        if runner is not None and runner_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.astop(), cfg.shutdown_grace_s)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(runner_task, cfg.shutdown_grace_s)
    return stats


async def _sync_and_say(
    cfg: ServeConfig, why: str, stats: ServeStats, stop: asyncio.Event, say: Callable[[str], None]
) -> None:
    before = len(stats.syncs)
    await _sync(cfg, why, stats, stop)
    if len(stats.syncs) > before:
        results = stats.syncs[-1]
        new = sum(r["status"] in ("analysed", "imported") for r in results)
        stored = sum(r["status"] == "skipped" for r in results)
        quarantined = sum(r["status"] == "quarantined" for r in results)
        say(f"synced ({why}): {new} new, {stored} already stored, {quarantined} quarantined")
