"""``mlops train|evaluate|serve|drift|quality``: the ML steps, locally, with SageMaker's code.

Each command's options are the step's own (``ml.step_options``), the ones its
container entry point parses; only the exit-code gates are the command line's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ml.step_options import (
    DriftOptions,
    EvaluateOptions,
    QualityOptions,
    ServeOptions,
    TrainOptions,
)
from ops.commands.step_command import step_command

if TYPE_CHECKING:
    from rich.table import Table

STATUS_ORDER = ("ok", "warn", "alarm")  # drift statuses, mildest first
STATUS_COLOURS = {"ok": "green", "warn": "yellow", "alarm": "red"}


class FailOn(StrEnum):
    """Which drift status makes ``mlops drift`` exit 1."""

    never = "never"
    warn = "warn"
    alarm = "alarm"


def _table(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def _with_status(message: str, run: Callable[[Any], Any], options: Any) -> Any:
    """Run a step with a spinner on stderr (stdout keeps the results)."""
    from rich.console import Console

    with Console(stderr=True).status(message):
        return run(options)


def _fail() -> None:
    raise SystemExit(1)  # main() runs click non-standalone: typer.Exit would exit 0


@step_command(TrainOptions)
def train_command(options: TrainOptions) -> None:
    """Train the fraud model; write the model, its metadata and its drift baseline."""
    from ml.train import run_step

    metadata = _with_status("training", run_step, options)
    metrics = metadata["validation_metrics"]
    typer.echo(
        f"model written to {options.model_dir}: validation PR AUC {metrics['pr_auc']:.3f}, "
        f"recall at 90% precision {metrics['recall_at_precision_90']:.3f}, "
        f"threshold {metadata['decision_threshold']:.4f}"
    )


@step_command(EvaluateOptions)
def evaluate_command(options: EvaluateOptions) -> None:
    """Evaluate a model; compare with the champion; exit 1 if the gates fail."""
    from rich.console import Console

    from ml.evaluate import run_step

    _, comparison = _with_status("evaluating", run_step, options)
    rows = [
        (
            check["check"],
            f"{check['value']:.4f}",
            f"{check['limit']:.4f}",
            "[green]pass[/]" if check["passed"] else "[red]fail[/]",
        )
        for check in comparison["checks"]
    ]
    console = Console()
    columns = ("check", "value", "limit", "result")
    console.print(_table(f"Evaluation: {comparison['verdict']}", columns, rows))
    console.print(f"evaluation written to {options.out}")
    if comparison["verdict"] != "pass":
        _fail()


@step_command(ServeOptions)
def serve_command(options: ServeOptions) -> None:
    """Serve the model with SageMaker's contract: GET /ping, POST /invocations."""
    from ml.serve import serve
    from ml.serve_workers import server_settings

    settings = server_settings(options)
    where = f"http://{options.host}:{options.port}"
    typer.echo(
        f"serving {options.model_dir} on {where} with {settings.workers} worker(s) of "
        f"{settings.threads} thread(s) (Ctrl+C to stop)",
        err=True,
    )
    serve(options)


@step_command(DriftOptions)
def drift_command(
    options: DriftOptions,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 at this status.")
    ] = FailOn.never,
) -> None:
    """Compare a batch or captured traffic with the training baseline: PSI and CDF distance."""
    from rich.console import Console

    from ml.drift import run_step

    report = _with_status("computing drift", run_step, options)
    rows = [
        (
            name,
            item["type"],
            f"{item['psi']:.4f}",
            f"{item['cdf_distance']:.4f}",
            f"[{STATUS_COLOURS[item['status']]}]{item['status']}[/]",
        )
        for name, item in report["features"].items()
    ]
    console = Console()
    columns = ("feature", "type", "PSI", "CDF distance", "status")
    console.print(_table(f"Drift of {options.current}", columns, rows))
    if report["input"]["kind"] == "capture":
        console.print(_capture_line(report["input"]))
    summary = report["summary"]
    drifted = ", ".join(summary["drifted_features"]) or "none"
    if "max_psi" not in summary:  # too few rows to compare
        console.print(
            f"status {summary['status']}: {report['rows']} rows, fewer than {report['min_rows']}"
        )
    else:
        console.print(
            f"status {summary['status']}: max PSI {summary['max_psi']:.4f} "
            f"({summary['max_psi_feature']}), drifted: {drifted}"
        )
    for name, reason in report.get("not_compared", {}).items():
        console.print(f"{name} not compared: {reason}")
    if (
        fail_on != FailOn.never
        and summary["status"] in STATUS_ORDER  # insufficient data is no verdict
        and STATUS_ORDER.index(summary["status"]) >= STATUS_ORDER.index(fail_on.value)
    ):
        _fail()


def _capture_line(source: dict[str, Any]) -> str:
    """One line on what was read from capture and what was refused."""
    line = (
        f"read {source['events']} events ({source['rows']} rows) from {source['files']} "
        f"capture files; {source['malformed_lines']} malformed lines"
    )
    if source["malformed_lines"]:
        reasons = ", ".join(f"{k} {v}" for k, v in source["malformed_by_reason"].items())
        kept = source["quarantined_files"]
        where = f"quarantined in {len(kept)} files" if kept else "pass --quarantine D to keep them"
        line += f" ({reasons}; {where})"
    return line


@step_command(QualityOptions)
def quality_command(
    options: QualityOptions,
    min_recall: Annotated[
        float | None, typer.Option("--min-recall", help="Exit 1 when recall is below this.")
    ] = None,
    max_recall_gap: Annotated[
        float | None,
        typer.Option("--max-recall-gap", help="Exit 1 when the segment recall gap is above this."),
    ] = None,
) -> None:
    """Model quality of captured predictions against labels: precision, recall, PR AUC, bias."""
    from rich.console import Console

    from ml.quality import run_step

    report = _with_status("joining labels with captured predictions", run_step, options)
    rows = [
        (
            name,
            "not reported: " + item["reason"] if item["value"] is None else f"{item['value']:.4f}",
        )
        for name, item in report["metrics"].items()
    ]
    gap = report["bias"]["recall_gap"]
    if gap["value"] is not None:
        rows.append((f"recall gap ({gap['highest']} vs {gap['lowest']})", f"{gap['value']:.4f}"))
    console = Console()
    threshold = report["decision_threshold"]
    console.print(_table(f"Quality at threshold {threshold:.4f}", ("metric", "value"), rows))
    join = report["join"]
    console.print(
        f"{join['matched']} labelled predictions; unmatched: {join['unmatched_labels']} labels, "
        f"{join['unmatched_predictions']} predictions"
    )
    console.print(_capture_line(report["capture"]))
    for line in _change_lines(report.get("changes")):
        console.print(line)
    console.print(f"report written to {options.out}")
    recall = report["summary"]["recall"]  # None: too few frauds to act on
    failed = (min_recall is not None and recall is not None and recall < min_recall) or (
        max_recall_gap is not None and gap["value"] is not None and gap["value"] > max_recall_gap
    )
    if failed:
        _fail()


def _change_lines(changes: dict[str, Any] | None) -> list[str]:
    """The drop tests against the evaluation, in words (z 3.09 is a one-sided p of 0.001)."""
    if not changes:
        return []
    lines = [
        f"{name} vs the evaluation: drop z {change['z']:.2f}"
        if "z" in change
        else f"{name} vs the evaluation: not tested, {change['reason']}"
        for name, change in changes.items()
        if name != "segments"
    ]
    segments = changes.get("segments")
    if segments:
        lines.append(
            f"worst category {segments['segment']} fell behind the others by z "
            f"{segments['z']:.2f} ({segments['compared']} categories compared)"
        )
    return lines


def register(app: typer.Typer) -> None:
    """Attach the ML step commands."""
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("serve")(serve_command)
    app.command("drift")(drift_command)
    app.command("quality")(quality_command)
