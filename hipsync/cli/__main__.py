"""``python -m hipsync.cli``: the same as the ``hipsync`` command."""

from hipsync.cli import app

app(prog_name="hipsync")
