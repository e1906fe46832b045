"""``mlops train|evaluate|serve|drift|quality``: the ML steps, locally, with SageMaker's code."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

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


WindowStart = Annotated[
    str | None, typer.Option("--window-start", help="Capture only: from this UTC time (ISO 8601).")
]
WindowEnd = Annotated[
    str | None, typer.Option("--window-end", help="Capture only: until this UTC time (ISO 8601).")
]
WindowHours = Annotated[
    float | None,
    typer.Option(
        "--window-hours", help="Capture only: this many hours (alone: the last full ones)."
    ),
]
QuarantineDir = Annotated[
    Path | None,
    typer.Option("--quarantine", help="Copy unreadable capture lines here, with their reasons."),
]


def drift_command(
    baseline: Annotated[
        Path, typer.Option("--baseline", help="drift_baseline.json or the model directory.")
    ],
    current: Annotated[
        Path, typer.Option("--current", help="Batch file or directory, or endpoint data capture.")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON report here.")] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 at this status.")
    ] = FailOn.never,
    psi_warn: Annotated[float, typer.Option("--psi-warn")] = 0.1,
    psi_alarm: Annotated[float, typer.Option("--psi-alarm")] = 0.25,
    capture: Annotated[
        bool | None,
        typer.Option(
            "--capture/--table",
            help="Read --current as data capture or as a table (default: detect).",
        ),
    ] = None,
    window_start: WindowStart = None,
    window_end: WindowEnd = None,
    window_hours: WindowHours = None,
    quarantine: QuarantineDir = None,
) -> None:
    """Compare a batch or captured traffic with the training baseline: PSI and CDF distance."""
    import json

    from rich.console import Console
    from rich.table import Table

    from ml.capture import Window
    from ml.drift import Thresholds, run_drift

    window = Window.parse(window_start, window_end, window_hours)
    with Console(stderr=True).status("computing drift"):
        report = run_drift(
            baseline,
            current,
            Thresholds(psi_warn, psi_alarm),
            capture=capture,
            window=window,
            quarantine=quarantine,
        )
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
    source = report["input"]
    if source["kind"] == "capture":
        console.print(_capture_line(source))
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


def quality_command(
    capture: Annotated[
        Path, typer.Option("--capture", help="Endpoint data capture (directory or .jsonl file).")
    ],
    labels: Annotated[
        Path, typer.Option("--labels", help="Ground truth: event_id, is_fraud [, event_row].")
    ],
    model_dir: Annotated[
        Path | None,
        typer.Option("--model-dir", help="The serving model (its decision threshold)."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Decision threshold instead of the model's.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Write the JSON report here.")] = Path(
        "quality.json"
    ),
    window_start: WindowStart = None,
    window_end: WindowEnd = None,
    window_hours: WindowHours = None,
    quarantine: QuarantineDir = None,
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
    from rich.table import Table

    from ml.capture import Window
    from ml.errors import MlopsError
    from ml.quality import load_threshold, run_quality

    if threshold is None:
        if model_dir is None:
            raise MlopsError("pass --model-dir (the serving model) or --threshold")
        threshold = load_threshold(model_dir)
    window = Window.parse(window_start, window_end, window_hours)
    with Console(stderr=True).status("joining labels with captured predictions"):
        report = run_quality(capture, labels, threshold, out, window=window, quarantine=quarantine)
    console = Console()
    table = Table(title=f"Quality at threshold {threshold:.4f}")
    for column in ("metric", "value"):
        table.add_column(column)
    for name, value in report["summary"].items():
        table.add_row(name, f"{value:.4f}")
    gap = report["bias"]["recall_gap"]
    if gap["value"] is not None:
        table.add_row(f"recall gap ({gap['highest']} vs {gap['lowest']})", f"{gap['value']:.4f}")
    console.print(table)
    join = report["join"]
    console.print(
        f"{join['matched']} labelled predictions; unmatched: {join['unmatched_labels']} labels, "
        f"{join['unmatched_predictions']} predictions"
    )
    console.print(_capture_line(report["capture"]))
    console.print(f"report written to {out}")
    failed = (min_recall is not None and report["summary"]["recall"] < min_recall) or (
        max_recall_gap is not None and gap["value"] is not None and gap["value"] > max_recall_gap
    )
    if failed:
        raise SystemExit(1)  # main() runs click non-standalone: typer.Exit would exit 0


def register(app: typer.Typer) -> None:
    """Attach the ML step commands."""
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("serve")(serve_command)
    app.command("drift")(drift_command)
    app.command("quality")(quality_command)
