"""The ``hipsync`` command line. Each command group lives in its own ``cli_*`` module.

Heavy imports (Prefect, bleak, bumble, DuckDB) happen inside the commands, so ``hipsync --help`` and the
fast paths (``analyze``, ``report`` rendering) start quickly.
"""

from __future__ import annotations

import logging

import typer

from flows import cli_analyze, cli_ble, cli_report, cli_simulate, cli_storage

app = typer.Typer(
    name="hipsync",
    help=(
        "Bookkeeping for hip training with a thigh-worn motion sensor: record over Bluetooth, find sets, "
        "reps and tempo, store everything in a local DuckDB file, and get weekly progress reports.\n\n"
        "Data lives in $HIPSYNC_HOME (default: your user data directory). "
        "Start with `hipsync demo` to see the whole pipeline on a virtual sensor."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for _module in (cli_ble, cli_simulate, cli_analyze, cli_storage, cli_report):
    _module.register(app)


if __name__ == "__main__":
    app()
