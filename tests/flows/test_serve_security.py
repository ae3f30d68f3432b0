"""The Prefect API that ``hipsync serve`` starts is hipsync's alone (issue 19.4, 19.5): a request without
its token is refused, no other origin is allowed, its files stay in ``$HIPSYNC_HOME/prefect`` (owner
only), and a caller cannot hand the deployed flows a path."""

from __future__ import annotations

import asyncio
import base64
import inspect
import stat
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow]


def test_the_embedded_api_refuses_strangers_and_takes_no_paths(hipsync_home: Path) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.scheduled import catch_up_sync, scheduled_weekly_report
    from flows.serve import PrefectServer

    # Outside any other Prefect server (the session's test harness may have set one).
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        server = PrefectServer(hipsync_home)
        stranger, parameters = _probe(server, hipsync_home)
    assert stranger == 401
    # The deployments carry no parameters and their flows accept none: a path has nowhere to go.
    assert parameters == {}
    assert inspect.signature(catch_up_sync.fn).parameters == {}
    assert inspect.signature(scheduled_weekly_report.fn).parameters == {}
    # Prefect's database (log lines name sensors) is inside the home, owner only.
    home = hipsync_home / "prefect"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    db = home / "prefect.db"
    assert db.exists() and stat.S_IMODE(db.stat().st_mode) == 0o600
    assert server.process is None  # stopped on leaving the block


def _probe(server: Any, hipsync_home: Path) -> tuple[int, dict[str, object]]:
    """Requests a stranger could send; and, as hipsync, the catch-up deployment's parameters."""
    import httpx

    from flows.serve import ServeConfig, start_runner

    with server as api_url:
        # Health probes stay open; everything else needs the token.
        assert httpx.get(f"{api_url}/health").status_code == 200
        assert httpx.post(f"{api_url}/flows/filter", json={}).status_code == 401
        wrong = base64.b64encode(b"guess").decode()
        headers = {"Authorization": f"Basic {wrong}"}
        assert httpx.post(f"{api_url}/flows/filter", json={}, headers=headers).status_code == 401
        # No browser page of another origin may call it (no CORS wildcard).
        pre = httpx.options(
            f"{api_url}/flows/filter",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert pre.headers.get("access-control-allow-origin") not in ("*", "http://evil.example")

        async def deploy_and_inject() -> tuple[int, dict[str, object]]:
            from prefect.client.orchestration import get_client

            cfg = ServeConfig(home=hipsync_home, virtual_profile="polar-verity-sense")
            runner, task, _ = await start_runner(cfg)
            try:
                async with get_client() as client:  # hipsync's own client: has the token
                    [dep] = [d for d in await client.read_deployments() if d.name == "hipsync-catch-up"]
                    injected = {"parameters": {"home": "/tmp/elsewhere"}, "enforce_parameter_schema": False}
                    url = f"{api_url}/deployments/{dep.id}/create_flow_run"
                    stranger = httpx.post(url, json=injected).status_code
                    return stranger, dict(dep.parameters)
            finally:
                await runner.astop()
                task.cancel()

        return asyncio.run(deploy_and_inject())
