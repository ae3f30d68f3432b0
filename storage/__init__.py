"""DuckDB storage: the only package that imports duckdb.

- :mod:`storage.db`: writer connection with migrations (``connect``), short read-only connections
  (``connect_readonly``), ``transaction``, typed errors (:mod:`storage.errors`).
- :mod:`storage.sync`: idempotent imports (``sync_spools``, ``sync_one_spool``, ``import_file``,
  ``import_recording``), quarantine of undecodable sources.
- :mod:`storage.plan`: the plan file, ``Resistance.parse``, plan history.
- :mod:`storage.reprocess`, :mod:`storage.sessions` (listing, ``log_session``), :mod:`storage.export`.
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
