"""``mlops demo``: the offline tour of the platform on a fresh machine.

It trains a model for dev against an AWS emulator, deploys it to dev and
promotes it to staging and prod (stack files pinned in the work directory),
then plans and scans every stack from those files, so each plan has its
endpoint, rollout and rollback alarms, and finally checks drift on shifted
batches. Each part is the same library call the dedicated commands make.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from infra.plan.engine import Plan

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
        bool,
        typer.Option("--skip-pipeline", help="Only plan and scan the stacks as their files stand."),
    ] = False,
) -> None:
    """Train, deploy and promote a model offline, then plan and scan every stack serving it."""
    from rich.table import Table

    from infra.plan.scan import scan_plan
    from ml.errors import MlopsError
    from pipelines.demo_tour import run_drift, run_release
    from pipelines.infra_report import (
        console,
        print_plan,
        print_scan,
        synthesize_with_progress,
        write_outputs,
    )

    chosen = list(stacks or STACKS)
    unknown = [s for s in chosen if s not in STACKS]
    if unknown:
        raise MlopsError(f"unknown stack {unknown[0]!r}; the demo tours {', '.join(STACKS)}")
    chosen.sort(key=STACKS.index)
    work_dir.mkdir(parents=True, exist_ok=True)
    stack_files: dict[str, Path] = {}
    if not skip_pipeline:
        stack_files = run_release(work_dir, chosen[-1], console).stack_files
    summary = Table(title="mlops demo")
    for column in (
        "stack",
        "resources",
        "endpoint (rollout)",
        "rollback alarms",
        "checks: passed / failed / skipped",
        "seconds",
    ):
        summary.add_column(column)
    failed = False
    for stack in chosen:
        started = time.perf_counter()
        console.rule(f"stack {stack}")
        plan = synthesize_with_progress(stack, stack_files.get(stack), [])
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
        endpoint, alarms = _serving(plan)
        summary.add_row(
            stack,
            str(sum(1 for r in plan.resources if r["custom"])),
            endpoint,
            alarms,
            checks,
            f"{time.perf_counter() - started:.1f}",
        )
    if not skip_pipeline:
        run_drift(console)
    console.print(summary)
    if failed:
        raise typer.Exit(1)


def _serving(plan: Plan) -> tuple[str, str]:
    """The endpoint's name and traffic routing, and its rollback alarms; or why there is none."""
    endpoints = plan.of_type("aws:sagemaker/endpoint:Endpoint")
    if not endpoints:
        return str(plan.outputs.get("servingStatus", "none")), "-"
    inputs = endpoints[0]["inputs"]
    config = inputs.get("deploymentConfig") or {}
    blue_green = config.get("blueGreenUpdatePolicy") or {}
    routing = (blue_green.get("trafficRoutingConfiguration") or {}).get("type")
    rollout = routing or ("ROLLING" if config.get("rollingUpdatePolicy") else "none")
    alarms = (config.get("autoRollbackConfiguration") or {}).get("alarms") or []
    return f"{inputs['name']} ({rollout})", ", ".join(a["alarmName"] for a in alarms) or "-"
