"""``mlops emulator start|stop|status``: one AWS emulator for a session of offline commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

emulator_app = typer.Typer(
    help="An AWS emulator (moto_server on 127.0.0.1) that outlives one command.",
    no_args_is_help=True,
)
StateDirOption = Annotated[
    Path,
    typer.Option("--state-dir", help="Where its pid, URL and log are kept."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(emulator_app, name="emulator")


@emulator_app.command("start")
def start_command(state_dir: StateDirOption = Path("build") / "emulator") -> None:
    """Start it (or find it running) and print the line that points commands at it.

    Use it as: eval "$(mlops emulator start)"; then every command reaches it
    through AWS_ENDPOINT_URL. Every stack's registry side exists in it already.
    """
    from ops.local.emulator_process import provision_stacks, start

    emulator, started = start(state_dir)
    if started:
        provision_stacks(emulator.url)
    verb = "started" if started else "already running"
    typer.echo(f"AWS emulator {verb} at {emulator.url} (pid {emulator.pid})", err=True)
    typer.echo(emulator.exports())


@emulator_app.command("stop")
def stop_command(state_dir: StateDirOption = Path("build") / "emulator") -> None:
    """Stop the emulator 'start' started (by its pid); its state is gone with it."""
    from ops.local.emulator_process import stop

    stopped = stop(state_dir)
    if stopped is None:
        typer.echo("no AWS emulator running", err=True)
        return
    typer.echo(f"stopped the AWS emulator at {stopped.url} (pid {stopped.pid})", err=True)
    typer.echo("unset AWS_ENDPOINT_URL")


@emulator_app.command("status")
def status_command(state_dir: StateDirOption = Path("build") / "emulator") -> None:
    """Print its URL; exit 1 when none runs."""
    from ops.local.emulator_process import running

    emulator = running(state_dir)
    if emulator is None:
        typer.echo("no AWS emulator running", err=True)
        raise typer.Exit(1)
    typer.echo(emulator.url)
