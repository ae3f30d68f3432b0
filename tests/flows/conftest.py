"""Fixtures for the flows tests: ONE session-scoped Prefect test harness (``hand`` is in tests/conftest.py).

Prefect's embedded server takes ~30 s to start on a 2-core machine, so every test that needs Prefect
shares :func:`prefect_harness`; report computation and rendering are tested without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server and database shared by the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    # The test server must not try to send usage telemetry (no network here, and it logs errors).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with prefect_test_harness(server_startup_timeout=120):
        yield
