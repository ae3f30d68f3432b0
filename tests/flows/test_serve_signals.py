"""``hipsync serve`` always stops: Ctrl-C (to the whole process group, as a terminal sends it) or SIGTERM
at random points, including right after a sync flow, ends it within seconds; spools are closed and
readable, and no Prefect server is left behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")]

STOP_WITHIN_S = 15.0


class _Serve:
    """``hipsync serve --virtual`` in its own process group, its output collected line by line."""

    def __init__(self, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env |= {"HIPSYNC_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "hipsync", "serve", "--virtual", "polar-verity-sense"]
        cmd += ["--time-scale", "10", "--idle-min", "0.15", "--rearm-min", "0"]
        self.home = home
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, text: str, timeout_s: float = 240.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, "\n".join(self.lines[-30:])
            assert time.monotonic() < deadline, f"no {text!r} in:\n" + "\n".join(self.lines[-30:])
            time.sleep(0.05)

    def stop_with(self, send: Callable[[int], None]) -> float:
        """Signal it; the seconds it took to exit (fails the test past ``STOP_WITHIN_S``)."""
        t0 = time.monotonic()
        send(self.proc.pid)
        try:
            self.proc.wait(STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            pytest.fail("serve did not stop:\n" + "\n".join(self.lines[-40:]))
        self._reader.join(5)
        return time.monotonic() - t0


def _servers_left(home: Path) -> list[int]:
    """Processes still running with this home's Prefect directory in their environment."""
    needle = f"PREFECT_HOME={home / 'prefect'}".encode()
    left = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in (proc / "environ").read_bytes().split(b"\0"):
                    left.append(int(proc.name))
            except OSError:
                continue
    return left


def _check_after(home: Path) -> None:
    from flows.imports import sync_spools
    from ingest.spool.reader import is_finished, read_spool
    from storage import paths

    deadline = time.monotonic() + 6.0  # the server gets SIGTERM and up to 5 s
    while _servers_left(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _servers_left(home) == []
    spools = sorted(paths.spool_dir(home).glob("*.spool"))
    for sp in spools:
        assert is_finished(sp) and read_spool(sp).chunks, sp
    result = sync_spools(paths.db_path(home), paths.spool_dir(home))
    assert result.quarantined == []


def _group(sig: int) -> Callable[[int], None]:
    return lambda pid: os.killpg(pid, sig)


def _process(sig: int) -> Callable[[int], None]:
    return lambda pid: os.kill(pid, sig)


def test_ctrl_c_right_after_a_sync_flow(tmp_path: Path) -> None:
    """The reported hang: SIGINT to the process group moments after the session-close sync finished."""
    serve = _Serve(tmp_path)
    serve.wait_for("synced (session closed)")
    time.sleep(random.Random(7).uniform(0.0, 1.0))
    took = serve.stop_with(_group(signal.SIGINT))
    assert took < STOP_WITHIN_S
    _check_after(tmp_path)


def test_sigterm_or_ctrl_c_at_random_points(tmp_path: Path) -> None:
    rng = random.Random(18)
    # (what to wait for, the longest random wait after it (s), the signal)
    points = [
        ("Prefect API", 2.0, _process(signal.SIGTERM)),  # starting up
        ("waiting for a sensor", 6.0, _group(signal.SIGINT)),  # recording, or the sync after it
    ]
    for k, (text, spread_s, send) in enumerate(points):
        home = tmp_path / f"run{k}"
        serve = _Serve(home)
        serve.wait_for(text)
        time.sleep(rng.uniform(0.0, spread_s))
        serve.stop_with(send)
        _check_after(home)
