"""``mlops feature-store lock``: record each stack's feature group in the committed lock.

The Pulumi program only reads ``environments/feature-groups.lock.json``; this
command is the one writer (``infra/feature_lock.py`` says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

feature_store_app = typer.Typer(
    help="The feature groups: the lock that keeps a feature change from replacing one.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(feature_store_app, name="feature-store")


def stack_names() -> list[str]:
    """Every stack with a file in ``environments/``, in promotion order first."""
    from infra.config.stack_file import ENVIRONMENTS_DIR

    found = [
        path.name[len("Pulumi.") : -len(".yaml")] for path in ENVIRONMENTS_DIR.glob("Pulumi.*.yaml")
    ]
    order = ["dev", "staging", "prod"]
    return sorted(found, key=lambda stack: (order.index(stack) if stack in order else 3, stack))


@feature_store_app.command("lock")
def lock_command(
    stacks: Annotated[
        list[str] | None,
        typer.Option(
            "--stack",
            "-s",
            help="Stack to record (repeatable; default: every environments/Pulumi.<stack>.yaml).",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 unless every group is recorded."),
    ] = False,
    config_file: Annotated[
        Path | None,
        typer.Option("--config-file", help="Stack file to read instead (with one --stack)."),
    ] = None,
) -> None:
    """Record the feature group version of each stack and the fingerprint of its features.

    A version already recorded is never changed: changed features need a new
    version (``mlops:featureStore.version``), which is a new group.
    """
    from infra.feature_lock import LOCK_COMMAND, lock_path, record, stack_entry, stale_entries
    from ml.errors import MlopsError

    names = stacks or stack_names()
    if config_file is not None and len(names) != 1:
        raise MlopsError("--config-file is the file of one stack: pass exactly one --stack")
    found = [stack_entry(name, config_file) for name in names]
    entries = [entry for entry in found if entry is not None]
    path = lock_path()
    if check:
        missing = stale_entries(entries, path)
        if missing:
            raise MlopsError(
                f"{path.name} does not record {', '.join(e.key for e in missing)}; "
                f"run `{LOCK_COMMAND}` and commit it"
            )
        typer.echo(f"{path.name} is current for {', '.join(names)}")
        return
    for entry in record(entries, path):
        typer.echo(f"recorded {entry.key} (version {entry.version}) in {path}")
    typer.echo(f"{path.name} is current for {', '.join(names)}")
