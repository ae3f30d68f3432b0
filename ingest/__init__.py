"""Ingest: sensor data in, as ``hipsync.records.Recording`` out; nothing here stores or analyses.

One room per vendor protocol, each holding both directions, and one per role:

- :mod:`ingest.polar`, :mod:`ingest.witmotion`: the protocols (codec, control, client, spool decoder);
- :mod:`ingest.ble`: scanning, the recorder (sensor -> spool), the virtual bleak backend;
- :mod:`ingest.spool`: the crash-safe spool files (format, writer, reader, decode to a recording);
- :mod:`ingest.emulator`: emulated sensors on bumble for hardware-free runs (their motion may come from
  :mod:`simulate`);
- :mod:`ingest.files` (CSV/Parquet in and out, format detection), :mod:`ingest.datasets` (two public
  real-data formats);
- shared: :mod:`ingest.profiles` (which sensors, how they advertise), :mod:`ingest.samples`
  (``SampleBlock``), :mod:`ingest.sensors` (the user's sensors file), :mod:`ingest.gatt`,
  :mod:`ingest.errors`.

Data flows: sensor -> BLE notifications -> spool -> decode -> ``Recording``; or file -> reader ->
``Recording``. Nothing is imported here.
"""
