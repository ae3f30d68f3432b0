"""``python -m hipsync``: the same as the ``hipsync`` command (:mod:`hipsync.cli`)."""

from hipsync.cli import app

app(prog_name="hipsync")
