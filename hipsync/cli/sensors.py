"""``hipsync sensors add|list|remove``: the sensors you own, kept in ``$HIPSYNC_HOME/sensors.json``.

Only these sensors are ever connected to. ``sensors add`` without ``--profile`` scans once (see
:func:`hipsync.cli.ble.scan_sensors`) to recognise the model; the file itself is read and written by
:mod:`ingest.sensors`, imported inside the commands so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from hipsync.cli._utilities import VIRTUAL_HELP, ProfileOption, SideOption, exit_with_error
from hipsync.cli.ble import bluetooth_unavailable, scan_sensors

app = typer.Typer(
    help="The sensors you own: only these are ever connected to (sensors.json in $HIPSYNC_HOME).",
    no_args_is_help=True,
)


@app.command("add")
def sensors_add(
    address: Annotated[str, typer.Argument(help="The sensor's Bluetooth address (see `hipsync scan`).")],
    side: Annotated[SideOption, typer.Option(help="The thigh the sensor is worn on.")],
    profile: Annotated[
        ProfileOption | None,
        typer.Option(help="Sensor model; if omitted, hipsync scans for the sensor and recognises it."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name to refer to it by (default: advertised).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to scan when recognising the model.")] = 5.0,
    virtual: Annotated[bool, typer.Option("--virtual", help=VIRTUAL_HELP)] = False,
) -> None:
    """Add (or update) a sensor you own, with the thigh it goes on."""
    from ingest.errors import SensorError
    from ingest.sensors import add_sensor
    from storage import paths

    profile_id = None if profile is None else profile.value
    if profile_id is None or name is None:
        try:
            rows = asyncio.run(scan_sensors(timeout, virtual, show_all=False))
        except OSError as e:
            if profile_id is None:
                bluetooth_unavailable(e)
            rows = []
        match = next((r for r in rows if str(r["address"]).casefold() == address.casefold()), None)
        if match is None and profile_id is None:
            exit_with_error(
                f"sensor {address} was not seen in {timeout:g} s, so its model is unknown; "
                "wake it up and retry, or give --profile."
            )
        if match is not None:
            profile_id = profile_id or str(match["profile"])
            name = name or match["name"]
    assert profile_id is not None
    try:
        entry = add_sensor(paths.sensors_path(), address, profile=profile_id, side=side.value, name=name)
    except (SensorError, ValueError) as e:
        exit_with_error(str(e))
    label = f"{entry.profile}, {entry.name}" if entry.name else entry.profile
    typer.echo(f"added {entry.address} ({label}), worn on the {entry.side} thigh")


@app.command("list")
def sensors_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Show the sensors you own."""
    from ingest.errors import SensorError
    from ingest.sensors import load_sensors
    from storage import paths

    try:
        entries = load_sensors(paths.sensors_path())
    except SensorError as e:
        exit_with_error(str(e))
    if as_json:
        typer.echo(json.dumps([e.to_json() for e in entries], indent=2))
        return
    if not entries:
        typer.echo("No sensors configured. Find yours with `hipsync scan`, then `hipsync sensors add`.")
        return
    for entry in entries:
        typer.echo(f"{entry.address}  {entry.side:<5}  {entry.profile:<19}  {entry.name or ''}")


@app.command("remove")
def sensors_remove(
    address_or_name: Annotated[str, typer.Argument(help="Address or name of the sensor to forget.")],
) -> None:
    """Forget a sensor (it will no longer be connected to)."""
    from ingest.errors import SensorError
    from ingest.sensors import remove_sensor
    from storage import paths

    try:
        entry = remove_sensor(paths.sensors_path(), address_or_name)
    except SensorError as e:
        exit_with_error(str(e))
    typer.echo(f"removed {entry.address} ({entry.name or entry.profile})")
