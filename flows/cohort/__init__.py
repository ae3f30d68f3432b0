"""Many athletes: a cohort folder of athlete homes, re-analysed on Dask, a Parquet lake, the coach's report.

A cohort is a folder whose subfolders are athlete homes, each the ``$HIPSYNC_HOME`` layout one user has
(its own DuckDB file, plan, spools). Every module here works athlete by athlete through the single-user
services, so one athlete's database only ever has one writer:

- :mod:`flows.cohort.layout`: the folder: which subfolders are athletes, the ``athlete.json`` each has;
- :mod:`flows.cohort.simulate`: many simulated athletes (``simulate.simulate_program`` per athlete);
- :mod:`flows.cohort.reprocess`: one athlete's re-analysis (``flows.reprocess``) and what it changed;
- :mod:`flows.cohort.flow`: the ``cohort-reprocess`` Prefect flow on Dask (``prefect-dask``);
- :mod:`flows.cohort.lake`: the incremental Parquet lake (``athlete=/week=`` partitions);
- :mod:`flows.cohort.report`, :mod:`flows.cohort.render`: the coach's weekly page, from the lake.

Nothing is imported here, so ``hipsync cohort --help`` and the CLI load neither Dask nor Prefect.
"""
