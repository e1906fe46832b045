"""``mlops train|evaluate|serve|drift``: the ML steps, locally, with SageMaker's code."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class FailOn(StrEnum):
    """Which drift status makes ``mlops drift`` exit 1."""

    never = "never"
    warn = "warn"
    alarm = "alarm"


def train_command(
    train: Annotated[Path, typer.Option("--train", help="Training file or directory.")],
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Where the model is written.")],
    validation: Annotated[
        Path | None, typer.Option("--validation", help="Validation file or directory.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    learning_rate: Annotated[float, typer.Option("--learning-rate")] = 0.08,
    max_iter: Annotated[int, typer.Option("--max-iter")] = 300,
    max_leaf_nodes: Annotated[int, typer.Option("--max-leaf-nodes")] = 31,
    min_samples_leaf: Annotated[int, typer.Option("--min-samples-leaf")] = 80,
    pos_weight: Annotated[
        float | None, typer.Option("--pos-weight", help="Fraud row weight; default sqrt(neg/pos).")
    ] = None,
    calibrate: Annotated[bool, typer.Option("--calibrate/--no-calibrate")] = True,
) -> None:
    """Train the fraud model; write model.joblib, metadata.json and drift_baseline.json."""
    from rich.console import Console

    from ml.train import TrainParams, run_training

    params = TrainParams(
        learning_rate=learning_rate,
        max_iter=max_iter,
        max_leaf_nodes=max_leaf_nodes,
        min_samples_leaf=min_samples_leaf,
        pos_weight=pos_weight,
        calibrate=calibrate,
        seed=seed,
    )
    with Console(stderr=True).status("training"):
        metadata = run_training(train, validation, model_dir, params)
    metrics = metadata["validation_metrics"]
    typer.echo(
        f"model written to {model_dir}: validation PR AUC {metrics['pr_auc']:.3f}, "
        f"recall at 90% precision {metrics['recall_at_precision_90']:.3f}, "
        f"threshold {metadata['decision_threshold']:.4f}"
    )


def evaluate_command(
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Trained model directory.")],
    test: Annotated[Path, typer.Option("--test", help="Labelled test file or directory.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for evaluation.json and plots.")],
    champion_metrics: Annotated[
        Path | None, typer.Option("--champion-metrics", help="The champion's evaluation.json.")
    ] = None,
    gates: Annotated[
        str | None,
        typer.Option(
            "--gates", help="e.g. min_pr_auc=0.5,min_recall_at_precision=0.2,max_regression=0.02"
        ),
    ] = None,
) -> None:
    """Evaluate a model; compare with the champion; exit 1 if the gates fail."""
    from rich.console import Console
    from rich.table import Table

    from ml.evaluate import Gates, run_evaluation

    gate_values = Gates.parse(gates)
    with Console(stderr=True).status("evaluating"):
        _, comparison = run_evaluation(model_dir, test, out, champion_metrics, gate_values)
    table = Table(title=f"Evaluation: {comparison['verdict']}")
    for column in ("check", "value", "limit", "result"):
        table.add_column(column)
    for check in comparison["checks"]:
        result = "[green]pass[/]" if check["passed"] else "[red]fail[/]"
        table.add_row(check["check"], f"{check['value']:.4f}", f"{check['limit']:.4f}", result)
    console = Console()
    console.print(table)
    console.print(f"evaluation written to {out}")
    if comparison["verdict"] != "pass":
        raise SystemExit(1)  # main() runs click non-standalone: typer.Exit would exit 0


def serve_command(
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Trained model directory.")],
    host: Annotated[str, typer.Option("--host", help="0.0.0.0 inside a container.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
) -> None:
    """Serve the model with SageMaker's contract: GET /ping, POST /invocations."""
    from ml.serve import serve

    typer.echo(f"serving {model_dir} on http://{host}:{port} (Ctrl+C to stop)", err=True)
    serve(model_dir, host, port)


def drift_command(
    baseline: Annotated[
        Path, typer.Option("--baseline", help="drift_baseline.json or the model directory.")
    ],
    current: Annotated[Path, typer.Option("--current", help="Batch file or directory.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON report here.")] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 at this status.")
    ] = FailOn.never,
    psi_warn: Annotated[float, typer.Option("--psi-warn")] = 0.1,
    psi_alarm: Annotated[float, typer.Option("--psi-alarm")] = 0.25,
) -> None:
    """Compare a batch with the training baseline: PSI and CDF distance per feature."""
    import json

    from rich.console import Console
    from rich.table import Table

    from ml.drift import Thresholds, compute_drift, load_baseline
    from ml.io import read_table

    base = load_baseline(baseline)
    with Console(stderr=True).status("computing drift"):
        report = compute_drift(base, read_table(current), Thresholds(psi_warn, psi_alarm))
    colours = {"ok": "green", "warn": "yellow", "alarm": "red"}
    table = Table(title=f"Drift of {current}")
    for column in ("feature", "type", "PSI", "CDF distance", "status"):
        table.add_column(column)
    for name, item in report["features"].items():
        status = f"[{colours[item['status']]}]{item['status']}[/]"
        table.add_row(
            name, item["type"], f"{item['psi']:.4f}", f"{item['cdf_distance']:.4f}", status
        )
    console = Console()
    console.print(table)
    summary = report["summary"]
    drifted = ", ".join(summary["drifted_features"]) or "none"
    console.print(
        f"status {summary['status']}: max PSI {summary['max_psi']:.4f} "
        f"({summary['max_psi_feature']}), drifted: {drifted}"
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    order = ["ok", "warn", "alarm"]
    if fail_on != FailOn.never and order.index(summary["status"]) >= order.index(fail_on.value):
        raise SystemExit(1)  # main() runs click non-standalone: typer.Exit would exit 0


def register(app: typer.Typer) -> None:
    """Attach the ML step commands."""
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("serve")(serve_command)
    app.command("drift")(drift_command)
