"""Spools: the crash-safe files a recording goes to before anything else touches it.

Data flows: the recorder appends every raw notification, with its host receive time, through
:mod:`.writer` (fsync at least once a second, an exclusive lock while recording); :mod:`.reader` reads
back the valid prefix and finds the spools ready to import; :mod:`.decode` turns one into a
``hipsync.records.Recording`` with the protocol's spool decoder (:mod:`ingest.polar.spool_decoder`,
:mod:`ingest.witmotion.spool_decoder`, both keeping to the contract in :mod:`.notifications`). The byte
layout is :mod:`.format` (documented in ``docs/spool-format.md``). Nothing is imported here.
"""
