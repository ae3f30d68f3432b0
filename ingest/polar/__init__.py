"""Polar Measurement Data (PMD): everything hipsync knows about Polar sensors, both directions.

Verity Sense and H10 stream acceleration (and the Verity angular rate) over the PMD service. Data flows:
the client (:mod:`.client`) starts streams over the control point (:mod:`.control`, with the settings
TLVs of :mod:`.settings`); the sensor notifies data frames, which the recorder writes raw to a spool;
:mod:`.spool_decoder` turns a spool's frames into samples with :mod:`.decode` (header and units in
:mod:`.formats`, protocol numbers in :mod:`.constants`). :mod:`.encode` is the other direction, used by
the emulated sensors (:mod:`ingest.emulator.polar`) and the round-trip tests.

The codec modules are pure and vectorised (NumPy only); only :mod:`.client` talks to a GATT client, and
through the :class:`ingest.gatt.GattClient` protocol, so no Bluetooth library is imported here. Facts
come from ``../shared/reference/ble-sensor-protocols.md`` ("doc §x.y"). Nothing is imported here.
"""
