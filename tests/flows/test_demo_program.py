"""The demo's choice of past sessions and the live one (pure, no Prefect)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest


@pytest.mark.parametrize(
    "now", [datetime(2026, 11, 24, 7, 30, tzinfo=UTC), datetime(2026, 11, 27, 20, tzinfo=UTC)]
)
def test_live_session_keeps_the_recovery_gap_after_the_last_past_one(now: datetime) -> None:
    from flows.demo import RECOVERY_GAP, simulate_demo_program, split_program

    program = simulate_demo_program(2, 11, now.date())
    past, (live, _) = split_program(program, now)
    assert past, "a two-week program has past sessions"
    last_past = max(s.started_at for s, _ in past)
    # The live session is streamed as "now": the gap a report sees is now - last_past.
    assert now - last_past >= RECOVERY_GAP
    assert all(s.started_at < live.started_at for s, _ in past)
