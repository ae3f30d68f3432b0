"""DuckDB storage: the only package that imports duckdb; it never decodes or analyses.

Records come in (``Recording``, ``SessionAnalysis``, plans) and rows go out; data flows
``flows`` -> writes here -> the database file -> reads here -> ``flows`` (reports), notebooks, the CLI.

- :mod:`storage.db`: writer connection with migrations (``connect``, ``storage/migrations/NNN_*.sql``),
  short read-only connections (``connect_readonly``), ``transaction``, ``as_utc``; typed errors in
  :mod:`storage.errors`.
- :mod:`storage.writes`: one session per transaction (``write_session``, ``write_quarantine``,
  ``write_analysis``), idempotency by content sha256 (``already_stored``), ``write_with_retry``.
- :mod:`storage.samples`: the raw samples' fixed-point layout (Arrow in, NumPy out).
- :mod:`storage.plan`: the plan file, ``Resistance.parse``, plan history.
- :mod:`storage.edits`: the user's corrections, each set's exercise source, every run's analysed sets;
  :mod:`storage.corrections`: ``hipsync edit`` on the database (one transaction per edit or undo).
- :mod:`storage.reprocess`: stale sessions and swapping in a new analysis;
  :mod:`storage.sessions` (listing, ``log_session``); :mod:`storage.export`; :mod:`storage.paths`.
- :mod:`storage.read_api` (notebooks) and :mod:`storage.report_queries` (reports) read the same schema,
  documented in ``docs/schema.md``.

Submodules are imported on demand so that ``import storage.paths`` stays cheap; ``storage.open_readonly``
(:func:`storage.read_api.open_readonly`) is resolved lazily on first use for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.read_api import open_readonly

__all__ = ["open_readonly"]


def __getattr__(name: str) -> Any:
    # ``storage.open_readonly`` without importing duckdb on ``import storage`` (PEP 562 lazy attribute).
    if name == "open_readonly":
        from storage.read_api import open_readonly

        return open_readonly
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
