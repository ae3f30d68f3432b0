"""``hipsync serve`` in-process with an emulated sensor on the virtual BLE link, under the Prefect harness."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


def _spool_sessions(home: Path) -> list[tuple[str, str]]:
    from storage import paths
    from storage.db import connect_readonly

    if not paths.db_path(home).exists():  # nothing was ever synced
        return []
    with connect_readonly(paths.db_path(home)) as con:
        rows = con.execute("SELECT source_path, status FROM sessions WHERE source = 'spool'").fetchall()
    return [(r[0], r[1]) for r in rows]


async def _deployment_names() -> set[str]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return {d.name for d in await client.read_deployments()}


def test_a_finished_recording_triggers_sync(prefect_harness: None, hipsync_home: Path) -> None:
    from flows.serve import CATCHUP_DEPLOYMENT, REPORT_DEPLOYMENT, ServeConfig, ServeStats, serve_async
    from ingest.ble.virtual_backend import reset_world

    cfg = ServeConfig(
        home=hipsync_home,
        virtual_profile="polar-verity-sense",
        virtual_active_s=40.0,  # sensor seconds of leg raises, then still
        time_scale=10.0,
        idle_min=0.15,  # 9 sensor seconds without movement closes the session
        rearm_s=0.0,
        max_sessions=1,
    )

    async def run() -> tuple[ServeStats, set[str]]:
        reset_world()
        stats = await asyncio.wait_for(serve_async(cfg, asyncio.Event()), 120)
        return stats, await _deployment_names()

    stats, names = asyncio.run(run())
    assert {CATCHUP_DEPLOYMENT, REPORT_DEPLOYMENT} <= names
    [spool] = stats.recordings
    assert stats.interrupted_recording is None
    # The start-up sync saw nothing; the session-close sync imported the new spool.
    assert stats.syncs[0] == []
    [synced] = stats.syncs[-1]
    assert synced["spool"] == str(spool) and synced["status"] in ("analysed", "imported")
    assert _spool_sessions(hipsync_home) == [(str(spool), synced["status"])]


def test_shutdown_keeps_an_open_recording_for_the_next_sync(
    prefect_harness: None, hipsync_home: Path
) -> None:
    from flows.serve import ServeConfig, ServeStats, serve_async
    from flows.sync_flow import sync_sessions
    from ingest.ble.virtual_backend import reset_world
    from ingest.spool.reader import is_finished, read_spool
    from storage import paths

    cfg = ServeConfig(
        home=hipsync_home,
        virtual_profile="polar-verity-sense",
        virtual_active_s=3600.0,  # still training when the process is stopped
        time_scale=5.0,
        schedules=False,
    )
    spool_dir = paths.spool_dir(hipsync_home)

    async def run() -> ServeStats:
        reset_world()
        stop = asyncio.Event()
        task = asyncio.create_task(serve_async(cfg, stop))
        for _ in range(600):  # until the spool holds a few seconds of data
            spools = list(spool_dir.glob("*.spool"))
            if spools and spools[0].stat().st_size > 20_000:
                break
            await asyncio.sleep(0.1)
        stop.set()  # what SIGTERM / Ctrl-C do in `hipsync serve`
        return await asyncio.wait_for(task, 60)

    stats = asyncio.run(run())
    spool = stats.interrupted_recording
    assert spool is not None and spool.exists() and is_finished(spool)
    assert read_spool(spool).chunks, "the recording so far is in the spool"
    assert _spool_sessions(hipsync_home) == []  # nothing synced on the way out
    [res] = sync_sessions(home=str(hipsync_home))
    assert res["spool"] == str(spool) and res["status"] in ("analysed", "imported")
    assert [r["status"] for r in sync_sessions(home=str(hipsync_home))] == ["skipped"]
