"""``mlops demo``: the platform's whole loop offline, on a fresh machine.

Against one AWS emulator: data with a corrupted drop is validated (the bad
file quarantined with its reason) and trains a model in dev; it is deployed
and promoted to staging and prod; every stack is planned, scanned and priced
from the pinned stack files; then prod runs for a few simulated hours
(``mlops simulate``'s ``demo`` scenario): traffic drifts, the drift alarm
fires, the alarm retrains through the cool-down gate, the retraining run is
gated against the champion, approved, pinned by a reviewed pull request and
rolled out by the planned canary. The stages live in ``ops.demo.loop``, the
report in ``ops.demo.report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

STACKS = ("dev", "staging", "prod")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    work_dir: Annotated[
        Path, typer.Option("--work-dir", help="Where the demo writes data, plans, models, report.")
    ] = Path("build/demo"),
    stacks: Annotated[
        list[str] | None,
        typer.Option(
            "--stack",
            help="Plan, scan and price only these stacks (prod always: the loop watches it).",
        ),
    ] = None,
    skip_pipeline: Annotated[
        bool,
        typer.Option("--skip-pipeline", help="Only plan and scan the stacks as their files stand."),
    ] = False,
    rows: Annotated[
        int,
        typer.Option(
            "--rows",
            min=1000,
            help="Rows of each generated data drop (fewer leave the gates too few frauds).",
        ),
    ] = 100_000,
    traffic: Annotated[
        int,
        typer.Option(
            "--traffic", min=100, help="Requests captured at prod's endpoint per simulated hour."
        ),
    ] = 400,
) -> None:
    """Run the loop offline: data, release, drift, alarm, retraining; write one report."""
    from ml.errors import MlopsError
    from ops.demo.loop import review_stacks, run_loop, timing_table
    from ops.demo.report import write_report
    from ops.plan_report import console

    chosen = list(stacks or STACKS)
    unknown = [s for s in chosen if s not in STACKS]
    if unknown:
        raise MlopsError(f"unknown stack {unknown[0]!r}; the demo tours {', '.join(STACKS)}")
    work_dir.mkdir(parents=True, exist_ok=True)
    if skip_pipeline:
        review_stacks(sorted(chosen, key=STACKS.index), {}, work_dir, console)
        return
    result = run_loop(work_dir, chosen, console, rows=rows, traffic=traffic)
    console.print(timing_table(result))
    report = write_report(result)
    console.print(f"report: {report}", soft_wrap=True)
