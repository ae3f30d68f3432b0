"""hipsync: the application shell and the records every layer shares.

- :mod:`hipsync.cli`: the ``hipsync`` command line (one module per command group); ``python -m hipsync``
  runs it too. It parses options, calls ``flows``, ``storage``, ``ingest``, ``processing`` or
  ``simulate``, and prints; it is the top layer, nothing imports it.
- :mod:`hipsync.records`: the small typed records that cross package boundaries (``Recording``,
  ``Exercise``, ``Side``, ``Rep``, ``TempoPhases``, ``ExerciseSet``, ``SessionAnalysis``). Every package may
  import it; it imports nothing of ours. It is the bottom layer.

Nothing is imported here, so ``import hipsync.records`` stays cheap for the pure packages.
"""
