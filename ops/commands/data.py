"""``mlops data``: generate synthetic transactions and validate data files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

data_app = typer.Typer(help="Synthetic transactions and data validation.", no_args_is_help=True)


@data_app.command("generate")
def generate_command(
    rows: Annotated[int, typer.Option("--rows", help="Number of transactions.")],
    out: Annotated[Path, typer.Option("--out", help="Output file, .csv or .parquet.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same data.")] = 0,
    drift: Annotated[
        str | None,
        typer.Option(
            "--drift",
            help="Drift scenario: amount_shift, new_merchant_category, fraud_pattern_change.",
        ),
    ] = None,
) -> None:
    """Write seeded synthetic card transactions (about 0.8% fraud)."""
    from rich.console import Console

    from ml.data import generate
    from ml.io import table_format, write_table

    table_format(out)  # refuse a bad extension before spending time generating
    console = Console(stderr=True)
    with console.status(f"generating {rows:,} rows"):
        frame = generate(rows, seed, drift)
        write_table(frame, out)
    rate = float(frame["is_fraud"].mean())
    typer.echo(
        f"wrote {len(frame):,} rows to {out} (fraud rate {rate:.2%}, drift {drift or 'none'})"
    )


@data_app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to validate.")],
    quarantine: Annotated[Path, typer.Option("--quarantine", help="Directory for bad files.")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a JSON report here.")
    ] = None,
    no_label: Annotated[
        bool, typer.Option("--no-label", help="Data without the is_fraud label (e.g. inference).")
    ] = False,
) -> None:
    """Check files; move each bad one into the quarantine with a reason. Exit 1 if any was bad."""
    from rich.console import Console
    from rich.table import Table

    from ml.validate import validate_files, write_report

    console = Console()
    with Console(stderr=True).status("validating"):
        reports = validate_files(paths, quarantine, require_label=not no_label)
    table = Table(title="Data validation")
    for column in ("file", "result", "rows", "why"):
        table.add_column(column)
    for item in reports:
        if item.ok:
            why = "; ".join(item.warnings) or "all checks passed"
            table.add_row(str(item.path), "[green]passed[/]", str(item.rows), why)
        else:
            why = "; ".join(f"{f.check}: {f.message}" for f in item.failures)
            why += f" -> {item.quarantined_to}"
            rows = "-" if item.rows is None else str(item.rows)
            table.add_row(str(item.path), "[red]quarantined[/]", rows, why)
    console.print(table)
    if report is not None:
        write_report(reports, report)
    bad = sum(not r.ok for r in reports)
    console.print(f"{len(reports) - bad} passed, {bad} quarantined")
    if bad:
        raise SystemExit(1)  # main() runs click non-standalone: typer.Exit would exit 0


def register(app: typer.Typer) -> None:
    """Attach ``mlops data``."""
    app.add_typer(data_app, name="data")
