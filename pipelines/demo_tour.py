"""The ML half of ``mlops demo``: the training pipeline run locally, then a drift check.

The pipeline runs for the dev stack against a moto_server it starts and
registers a model; the drift check compares a normal batch and each named
drift scenario with a baseline built the way training builds it, and shows
which would raise the drift alarm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

DEMO_STACK = "dev"
DRIFT_ROWS = 50_000


def run_tour(work_dir: Path, console: Console | None = None) -> dict[str, Any]:
    """Run the local pipeline and the drift check; returns what the summary shows."""
    from pipelines.local import run_local

    console = console or Console()
    console.rule(f"training pipeline, run locally for stack {DEMO_STACK}")
    run = run_local(DEMO_STACK, work_dir=work_dir / "pipeline", console=console)
    console.print(f"registered [bold]{run.package_arn}[/] ({run.approval_status})")
    console.rule("drift against the training baseline")
    drift = drift_by_scenario()
    console.print(_drift_table(drift))
    return {"package_arn": run.package_arn, "approval_status": run.approval_status, "drift": drift}


def drift_by_scenario(rows: int = DRIFT_ROWS, seed: int = 7) -> dict[str, dict[str, Any]]:
    """Summary of each batch (normal, then every named scenario) against one baseline."""
    from infra.config import Monitoring
    from ml.data import DRIFT_SCENARIOS, generate
    from ml.drift import Thresholds, build_baseline, compute_drift

    defaults = Monitoring()
    thresholds = Thresholds(defaults.psi_warn, defaults.psi_alarm)
    baseline = build_baseline(generate(rows, seed=seed))
    batches: dict[str, str | None] = {"none (same distribution)": None}
    batches.update({name: name for name in DRIFT_SCENARIOS})
    return {
        label: compute_drift(baseline, generate(rows, seed=seed + 1, drift=scenario), thresholds)[
            "summary"
        ]
        for label, scenario in batches.items()
    }


def _drift_table(drift: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="drift per scenario (PSI warn 0.1, alarm 0.25)")
    for column in ("scenario", "max PSI", "feature", "drifted features", "status"):
        table.add_column(column)
    colours = {"ok": "green", "warn": "yellow", "alarm": "red"}
    for label, summary in drift.items():
        status = summary["status"]
        table.add_row(
            label,
            f"{summary['max_psi']:.3f}",
            summary["max_psi_feature"],
            ", ".join(summary["drifted_features"]) or "-",
            f"[{colours[status]}]{status}[/]",
        )
    return table
