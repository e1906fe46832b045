"""``mlops demo``: the offline tour of the platform on a fresh machine.

It plans and scans every stack, then runs the training pipeline locally
against a moto_server it starts and checks drift on a shifted batch. Each
part is the same library call the dedicated commands make.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

STACKS = ("dev", "staging", "prod")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    work_dir: Annotated[
        Path, typer.Option("--work-dir", help="Where the demo writes plans, data and models.")
    ] = Path("build/demo"),
    stacks: Annotated[
        list[str] | None, typer.Option("--stack", help="Limit the tour to these stacks.")
    ] = None,
    skip_pipeline: Annotated[
        bool, typer.Option("--skip-pipeline", help="Only plan and scan the stacks.")
    ] = False,
) -> None:
    """Plan and scan every stack offline, then run the pipeline and a drift check locally."""
    from rich.table import Table

    from infra.plan.scan import scan_plan
    from pipelines.infra_report import (
        console,
        print_plan,
        print_scan,
        synthesize_with_progress,
        write_outputs,
    )

    work_dir.mkdir(parents=True, exist_ok=True)
    summary = Table(title="mlops demo")
    for column in ("stack", "resources", "checks: passed / failed / skipped", "seconds"):
        summary.add_column(column)
    failed = False
    for stack in stacks or STACKS:
        started = time.perf_counter()
        console.rule(f"stack {stack}")
        plan = synthesize_with_progress(stack, None, [])
        print_plan(plan)
        write_outputs(
            plan,
            json_out=work_dir / f"{stack}.plan.json",
            tfplan=work_dir / f"{stack}.tfplan.json",
            k8s_dir=None,
        )
        with console.status(
            f"scanning stack [bold]{stack}[/] with checkov and the project policies"
        ):
            result = scan_plan(plan)
        print_scan(result)
        failed = failed or not result.passed
        checks = "; ".join(
            f"{source} {c['passed']} / {c['failed']} / {c['skipped']}"
            for source, c in result.counts().items()
        )
        summary.add_row(
            stack,
            str(sum(1 for r in plan.resources if r["custom"])),
            checks,
            f"{time.perf_counter() - started:.1f}",
        )
    if not skip_pipeline:
        _run_pipeline_tour(work_dir, console)
    console.print(summary)
    if failed:
        raise typer.Exit(1)


def _run_pipeline_tour(work_dir: Path, console: Console) -> None:
    """Train, evaluate and register a model locally, then check drift on a shifted batch."""
    from pipelines.demo_tour import run_tour

    run_tour(work_dir, console)
