"""``mlops simulate``: days of operation in simulated time against one AWS emulator.

A thin layer over ``ops.simulate.engine.simulate``: pick the scenario, run it,
print each invariant as pass or fail and where the timeline and the report are;
exit 1 when an invariant fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


def simulate_command(
    days: Annotated[
        float | None,
        typer.Option("--days", min=0.05, help="Simulated days to run (default: the scenario's)."),
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", help="week (7 days), short (24 h) or demo (8 h).")
    ] = "week",
    work_dir: Annotated[
        Path, typer.Option("--work-dir", help="Where the timeline, report and runs are written.")
    ] = Path("build/simulate"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the world's randomness.")] = 7,
    cold: Annotated[
        bool,
        typer.Option("--cold", help="Start each job step as a fresh subprocess (no warm start)."),
    ] = False,
) -> None:
    """Run the loop in simulated time; print the invariants; write timeline.json and report.md."""
    from ops.plan_report import console
    from ops.simulate.engine import simulate
    from ops.simulate.scenario import scenario_named

    chosen = scenario_named(scenario)
    if days is not None:
        chosen = chosen.with_days(days)
    with console.status(f"simulating {chosen.hours} h of scenario {chosen.name}"):
        result = simulate(chosen, work_dir, seed=seed, console=console, warm=not cold)
    for check in result.checks:
        mark = "[green]pass[/]" if check.passed else "[red]FAIL[/]"
        console.print(f"{mark}  {check.name}: {check.detail}", soft_wrap=True)
    console.print(
        f"{result.scenario.hours} simulated hours in {result.seconds:.0f} s "
        f"({result.steps} job steps)"
    )
    console.print(f"timeline: {result.timeline_path}", soft_wrap=True)
    console.print(f"report: {result.report_path}", soft_wrap=True)
    if not result.passed:
        raise typer.Exit(1)
