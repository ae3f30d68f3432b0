"""Bluetooth LE: scanning, the recorder, and a bleak backend that drives emulated sensors.

Data flows: :mod:`.scan` lists supported sensors nearby (nothing is connected to); :mod:`.recorder`
connects to one or two sensors through bleak, starts their streams with the protocol clients
(:mod:`ingest.polar.client`, :mod:`ingest.witmotion.client`), appends every notification to a spool
(:mod:`ingest.spool.writer`) and reconnects after link loss. :mod:`.virtual_backend` is a bleak backend
on bumble's in-process link, so the same code runs against the emulated sensors of
:mod:`ingest.emulator` in tests, benchmarks and the demo. Only this package and :mod:`ingest.emulator`
import bleak and bumble. Nothing is imported here.
"""
