"""The ``hipsync`` command line: the root Typer app and the command groups it is made of.

One module per command group, each command a plain function at module level (callable and testable
without the app):

- :mod:`hipsync.cli.ble`: ``scan``, ``record`` (Bluetooth, real or virtual sensors);
- :mod:`hipsync.cli.sensors`: ``sensors add|list|remove`` (the sensors file);
- :mod:`hipsync.cli.analyze`: ``analyze FILE`` (no database, no Prefect);
- :mod:`hipsync.cli.simulate`: ``simulate session|program``;
- :mod:`hipsync.cli.sessions`: ``sync``, ``import``, ``sessions [show ID|last]``, ``reprocess``, ``log``,
  ``export``;
- :mod:`hipsync.cli.history`: ``history EXERCISE``, ``records``;
- :mod:`hipsync.cli.plan`: ``plan show|set|edit``;
- :mod:`hipsync.cli.edit`: ``edit exercise|reps|merge|split|delete|undo|list|show`` (corrections);
- :mod:`hipsync.cli.report`, :mod:`hipsync.cli.demo`, :mod:`hipsync.cli.serve`: the flows-level commands;
- :mod:`hipsync.cli.cohort`: ``cohort simulate|reprocess|export|report`` (many athletes, Dask, the lake);
- :mod:`hipsync.cli._utilities`: the error exit, option enums and common options they share.

Data flows one way: a command parses its options, calls one function of ``flows``, ``storage``,
``ingest``, ``processing`` or ``simulate``, and prints the result. Heavy imports (Prefect, bleak, bumble,
DuckDB, NumPy) happen inside the commands, so ``hipsync --help`` and the fast commands start quickly.
"""

from __future__ import annotations

import logging

import typer

from hipsync.cli import (
    analyze,
    ble,
    cohort,
    demo,
    edit,
    history,
    plan,
    report,
    sensors,
    serve,
    sessions,
    simulate,
)

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


app.add_typer(sensors.app, name="sensors")
app.command("scan")(ble.scan)
app.command("record")(ble.record)
app.add_typer(simulate.app, name="simulate")
app.command("analyze")(analyze.analyze_cmd)
app.command("sync")(sessions.sync_cmd)
app.command("import")(sessions.import_cmd)
app.add_typer(sessions.app, name="sessions")
app.command("history")(history.history)
app.command("records")(history.records)
app.command("reprocess")(sessions.reprocess_cmd)
app.add_typer(plan.app, name="plan")
app.command("log")(sessions.log_cmd)
app.add_typer(edit.app, name="edit")
app.command("export")(sessions.export_cmd)
app.command("report")(report.report)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.add_typer(cohort.app, name="cohort")

__all__ = ["app"]
