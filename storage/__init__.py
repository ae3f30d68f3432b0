"""DuckDB storage: the only package that imports duckdb.

- :mod:`storage.db`: writer connection with migrations (``connect``), short read-only connections
  (``connect_readonly``), ``transaction``, typed errors (:mod:`storage.errors`).
- :mod:`storage.sync`: idempotent imports (``sync_spools``, ``sync_one_spool``, ``import_file``,
  ``import_recording``), quarantine of undecodable sources.
- :mod:`storage.plan`: the plan file, ``Resistance.parse``, plan history.
- :mod:`storage.reprocess`, :mod:`storage.sessions` (listing, ``log_session``), :mod:`storage.export`.
- :mod:`storage.read_api` (notebooks) and :mod:`storage.report_queries` (reports) read the same schema,
  documented in ``docs/schema.md``.

Submodules are imported on demand so that ``import storage.paths`` stays cheap.
"""
