"""WitMotion WT901BLE: everything hipsync knows about the WitMotion sensor, both directions.

The sensor streams ``55 61`` packets (acceleration, angular rate, angles) on FFE4 as soon as a client
subscribes, and takes ``FF AA`` commands on FFE9. Data flows: the client (:mod:`.client`) sets the output
rate with commands (:mod:`.control`, which also parses ``55 71`` register replies); the recorder writes
the notifications raw to a spool; :mod:`.spool_decoder` decodes them (:mod:`.decode`; layout and units in
:mod:`.formats`) and, as packets carry no time, places them on the host clock. :mod:`.encode` is the
other direction, used by the emulated sensor (:mod:`ingest.emulator.witmotion`) and the round-trip tests.

Pure NumPy except :mod:`.client`, which talks through the :class:`ingest.gatt.GattClient` protocol.
Nothing is imported here.
"""
