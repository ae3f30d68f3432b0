"""Orchestration: the services that join ingest, processing and storage, and everything that runs them.

Data flows through here one way: a spool or file is decoded (``ingest``), analysed (``processing``) and
written (``storage``) by the import services; stored rows become reports; Prefect flows, ``serve`` and the
demo run those services on a schedule or on demand. Nothing below ``flows`` imports it.

- :mod:`flows.imports`: import a spool, a recording file or an in-memory recording (idempotent,
  quarantine on undecodable input); :mod:`flows.reprocess`: re-analyse stored sessions;
- :mod:`flows.report`: the weekly report domain (model, rules, rendering, charts, delivery), no Prefect;
- :mod:`flows.tasks`: the one Prefect task decorator (retries on transient errors only);
  :mod:`flows.sync_flow` (``sync-sessions``) and :mod:`flows.report_flow` (``weekly-report``): thin flows
  over the services;
- :mod:`flows.serve`: record whenever a sensor is worn, sync, report on schedules; :mod:`flows.demo`: the
  whole pipeline on a virtual sensor;
- :mod:`flows.plots`: plot and table helpers for the notebooks.

The command line that calls these is :mod:`hipsync.cli`. Nothing is imported here.
"""
