"""Run every benchmark: ``uv run python -m benchmarks [NAME ...]``.

Each ``benchmarks/bench_<name>.py`` has a ``main() -> None`` that prints its numbers next to a simple
baseline measured in the same process. With no NAME, all of them run in alphabetical order.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        module.main()
        print(f"--- {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
