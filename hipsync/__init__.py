"""hipsync: the application shell and the records every layer shares.

- :mod:`hipsync.records`: the small typed records that cross package boundaries (``Recording``,
  ``Exercise``, ``Side``, ``Rep``, ``TempoPhases``, ``ExerciseSet``, ``SessionAnalysis``). Every package may
  import it; it imports nothing of ours.

Nothing is imported here, so ``import hipsync.records`` stays cheap for the pure packages.
"""
