"""``mlops data``: generate synthetic transactions and validate data files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

if TYPE_CHECKING:
    from ml.validate import FileReport

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
    """Check files; move each bad one into the quarantine with a reason. Exit 1 if any was bad.

    Every file gets a line and an entry in the report, whatever happens to the
    others: a vanished file, a broken link, or a quarantine that cannot take a
    file (read-only, full) is reported, and the run goes on.
    """
    from rich.console import Console

    from ml.validate import quarantine_problems, validate_files, write_report

    console = Console()
    with Console(stderr=True).status("validating"):
        reports = validate_files(paths, quarantine, require_label=not no_label)
    console.print(_verdicts(reports))
    if report is not None:
        write_report(reports, report)
    passed = sum(r.ok for r in reports)
    moved = sum(r.status == "quarantined" for r in reports)
    kept = len(reports) - passed - moved
    console.print(f"{passed} passed, {moved} quarantined" + (f", {kept} kept" if kept else ""))
    stuck = quarantine_problems(reports)
    if stuck:
        more = f" (and {len(stuck) - 1} more file(s))" if len(stuck) > 1 else ""
        typer.echo(f"error: {stuck[0].problem}{more}", err=True)
    if passed < len(reports):
        raise SystemExit(1)  # main() runs click non-standalone: typer.Exit would exit 0


def _verdicts(reports: list[FileReport]) -> Table:
    """The table of verdicts: file, result, rows, why (and where the file went)."""
    from rich.markup import escape

    table = Table(title="Data validation")
    for column in ("file", "result", "rows", "why"):
        table.add_column(column)
    colour = {"passed": "green", "quarantined": "red", "kept": "yellow"}
    for item in reports:
        if item.ok:
            why = "; ".join(item.warnings) or "all checks passed"
        else:
            why = "; ".join(f"{f.check}: {f.message}" for f in item.failures)
            why += f" -> {item.quarantined_to}" if item.quarantined_to else ""
            why += f" ({item.problem})" if item.problem else ""
        rows = "-" if item.rows is None else str(item.rows)
        result = f"[{colour[item.status]}]{item.status}[/]"
        table.add_row(escape(str(item.path)), result, rows, escape(why))
    return table


def register(app: typer.Typer) -> None:
    """Attach ``mlops data``."""
    app.add_typer(data_app, name="data")
