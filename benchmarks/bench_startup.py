"""Start-up time of the light commands: ``hipsync --help``, ``plan show``, ``sessions``, ``sensors list``.

Run with ``uv run python -m benchmarks startup``. Each command runs ``RUNS`` times as a fresh
``python -m hipsync`` process (what ``uv run hipsync`` execs after its own check of the environment) on
a small database; the minimum wall time and CPU time (user + sys of the child) are printed, the minimum
being the least disturbed by other work on a shared machine. Baselines in the same process: a bare
``python -c pass``, ``import typer`` (the CLI framework itself) and ``uv run true`` (uv's own overhead).

``HIPSYNC_BENCH_ROOT=/path/to/other/checkout`` measures another checkout (its ``.venv``), e.g. main
before a change.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
COMMANDS = (["--help"], ["plan", "show"], ["sessions"], ["sensors", "list"])


def _child_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _measure(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Minimum wall and CPU seconds over ``RUNS`` runs."""
    walls, cpus = [], []
    for _ in range(RUNS):
        c0, w0 = _child_cpu_s(), time.perf_counter()
        subprocess.run(
            cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        walls.append(time.perf_counter() - w0)
        cpus.append(_child_cpu_s() - c0)
    return min(walls), min(cpus)


def _small_home(home: Path, python: str, root: Path) -> None:
    """A database with one imported file, so ``sessions`` lists something."""
    csv = home / "one.csv"
    csv.write_text("time,ax,ay,az\n" + "".join(f"{i / 50:.2f},0,0,1\n" for i in range(500)))
    env = dict(os.environ, HIPSYNC_HOME=str(home))
    subprocess.run(
        [python, "-m", "hipsync", "import", str(csv)], env=env, cwd=root, capture_output=True, check=True
    )


def main() -> None:
    root = Path(os.environ.get("HIPSYNC_BENCH_ROOT", Path(__file__).resolve().parent.parent))
    python = str(root / ".venv" / "bin" / "python")
    print(f"checkout {root} (a shared 2-core machine: minimum of {RUNS} runs)")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        _small_home(home, python, root)
        env = dict(os.environ, HIPSYNC_HOME=str(home), COLUMNS="80")
        base = [
            ("python -c pass", [python, "-c", "pass"]),
            ("python -c 'import typer'", [python, "-c", "import typer"]),
        ]
        if shutil.which("uv"):
            base.append(("uv run true (uv's own check)", ["uv", "run", "--project", str(root), "true"]))
        for label, cmd in base:
            wall, cpu = _measure(cmd, env, root)
            print(f"  baseline {label:<34} wall {wall:5.2f} s  CPU {cpu:5.2f} s")
        for args in COMMANDS:
            wall, cpu = _measure([python, "-m", "hipsync", *args], env, root)
            print(f"  hipsync {' '.join(args):<35} wall {wall:5.2f} s  CPU {cpu:5.2f} s")


if __name__ == "__main__":
    sys.exit(main())
