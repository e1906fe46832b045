"""The demo's one report: ``report/report.md`` with its PNGs beside it.

It holds what a reviewer of the loop asks for: the champion's and the
challenger's PR curves (the Champion step's plot), drift per feature against
the thresholds, each stack's plan summary (resources by type family, the
endpoint's rollout and rollback alarms, scan counts), each stack's monthly
cost as ``mlops cost`` figures it, and how long each stage took.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ops.demo.loop import LoopResult

REPORT_DIR = "report"
REPORT_FILE = "report.md"
PR_PLOT = "pr_curves.png"
DRIFT_PLOT = "drift_psi.png"
SUMMARY_FILE = "loop.json"
SIMULATION_PLOT = "simulation.png"


def type_family(type_token: str) -> str:
    """``aws:sagemaker/endpoint:Endpoint`` -> ``aws:sagemaker``; components keep their package."""
    return type_token.split("/", 1)[0] if "/" in type_token else type_token.split(":", 1)[0]


def write_report(result: LoopResult) -> Path:
    """Write the report and its plots under ``<work dir>/report``; returns the Markdown's path."""
    from ml import plots

    out = result.work_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# mlops demo: the loop offline", ""]
    lines += _stages(result)
    lines += _data(result)
    lines += _plans(result)
    lines += _costs(result)
    thresholds = result.drift["thresholds"]
    psi = {name: float(f["psi"]) for name, f in result.drift["features"].items()}
    plots.psi_by_feature(psi, thresholds["psi_warn"], thresholds["psi_alarm"], out / DRIFT_PLOT)
    lines += _drift(result, psi, thresholds)
    if result.champion_dir is not None:
        shutil.copy2(result.champion_dir / PR_PLOT, out / PR_PLOT)
    lines += _champion(result)
    lines += _simulation(result, out)
    path = out / REPORT_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / SUMMARY_FILE).write_text(json.dumps(summary(result), indent=2), encoding="utf-8")
    return path


def summary(result: LoopResult) -> dict[str, Any]:
    """The loop's outcome as JSON, beside the report, for scripts and CI."""
    run = result.retrain_run
    return {
        "stages": [asdict(stage) for stage in result.stages],
        "quarantined": result.quarantined,
        "drift": result.drift.get("summary", {}),
        "alarm": {"name": result.alarm.name, "state": result.alarm.state} if result.alarm else {},
        "retrain": {
            "pipeline": result.retrain_pipeline,
            "decisions": [asdict(decision) for decision in result.decisions],
            "executions": result.executions,
        },
        "champion": result.champion.get("champion", {}),
        "challenger": {
            "execution_id": run.execution_id if run else None,
            "package_arn": run.package_arn if run else None,
            "dataset_version": run.metadata.get("DatasetVersion") if run else None,
        },
        "stacks": {stack: plan_summary(review) for stack, review in result.stacks.items()},
        "simulation": result.simulation.summary if result.simulation else {},
    }


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def _stages(result: LoopResult) -> list[str]:
    rows = [[s.name, f"{s.seconds:.1f}", s.outcome] for s in result.stages]
    rows.append(["total", f"{sum(s.seconds for s in result.stages):.1f}", ""])
    return ["## Stages", "", *_table(["stage", "seconds", "outcome"], rows)]


def _data(result: LoopResult) -> list[str]:
    rows = [
        [
            f"`{q.get('quarantined_as', '?')}`",
            ", ".join(q.get("checks_failed", [])) or "-",
            "`" + str(result.work_dir / "quarantine") + "`",
        ]
        for q in result.quarantined
    ]
    return [
        "## Data: what Validate quarantined (kept with its reason, never deleted)",
        "",
        *_table(["file", "checks failed", "copied to"], rows),
    ]


def plan_summary(review: Any) -> dict[str, Any]:
    """Resources by type family, the endpoint's rollout and alarms, scan counts."""
    from ops.demo.loop import serving

    families = Counter(type_family(r["type"]) for r in review.plan.resources if r["custom"])
    endpoint, alarms = serving(review.plan)
    counts = review.scan.counts()
    return {
        "families": dict(sorted(families.items())),
        "endpoint": endpoint,
        "alarms": alarms,
        "scan": {
            status: sum(c[status] for c in counts.values())
            for status in ("passed", "failed", "skipped")
        },
    }


def _plans(result: LoopResult) -> list[str]:
    from ops.demo.loop import CANARY_NOTE

    lines = ["## Plans", "", f"Note: {CANARY_NOTE}.", ""]
    for stack, review in result.stacks.items():
        summary = plan_summary(review)
        scan = summary["scan"]
        lines += [
            f"### {stack}",
            "",
            f"- endpoint (rollout): {summary['endpoint']}",
            f"- rollback alarms: {summary['alarms']}",
            f"- scan: {scan['passed']} passed / {scan['failed']} failed / "
            f"{scan['skipped']} skipped",
            "",
            *_table(
                ["type family", "resources"],
                [[family, str(n)] for family, n in summary["families"].items()],
            ),
        ]
    return lines


def _costs(result: LoopResult) -> list[str]:
    lines = ["## Monthly cost (USD, us-east-1 list prices, as `mlops cost`)", ""]
    services = sorted({item.service for r in result.stacks.values() for item in r.cost.items})
    rows = []
    for service in services:
        row = [service]
        for review in result.stacks.values():
            total = sum(i.monthly_usd or 0.0 for i in review.cost.items if i.service == service)
            row.append(f"{total:,.2f}")
        rows.append(row)
    rows.append(["**total**", *(f"**{r.cost.total:,.2f}**" for r in result.stacks.values())])
    return [*lines, *_table(["service", *result.stacks], rows)]


def _drift(result: LoopResult, psi: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    summary = result.drift["summary"]
    alarm = result.alarm
    rows = [
        [name, f"{value:.3f}", result.drift["features"][name]["status"]]
        for name, value in sorted(psi.items(), key=lambda item: -item[1])
    ]
    return [
        "## Drift in prod traffic",
        "",
        f"Max PSI {summary['max_psi']:.3f} on `{summary['max_psi_feature']}` "
        f"(warn {thresholds['psi_warn']:g}, alarm {thresholds['psi_alarm']:g}); "
        f"`{alarm.name}` went to **{alarm.state}**: {alarm.reason}.",
        "",
        f"![PSI per feature with the warn and alarm thresholds]({DRIFT_PLOT})",
        "",
        *_table(["feature", "PSI", "status"], rows),
    ]


def _champion(result: LoopResult) -> list[str]:
    rows = [
        [str(i), f"`{d.alarm}`", str(d.started), f"`{d.execution_arn}`", d.reason]
        for i, d in enumerate(result.decisions, 1)
    ]
    lines = [
        "## Retraining",
        "",
        "The drift alarm and the feature alarms that entered ALARM with it, each delivered "
        f"twice to the cool-down gate of `{result.retrain_pipeline}`:",
        "",
        *_table(["delivery", "alarm", "started", "execution", "reason"], rows),
    ]
    document = result.champion
    if document:
        metrics = document["metrics"]
        champion = metrics.get("champion") or {}
        rows = [
            [name, f"{champion.get(name, float('nan')):.4f}", f"{value:.4f}"]
            for name, value in metrics["challenger"].items()
        ]
        run = result.retrain_run
        version = run.metadata.get("DatasetVersion") if run else None
        # Only a registered package records its dataset version.
        trained_on = f" (dataset version `{version}`)" if version else ""
        lines += [
            f"moto records the execution the gate started but runs no step, so the local "
            f"runner walked it for stack prod (`{run.execution_id if run else '?'}`) on prod's "
            f"`raw/` with the drifted hours in it{trained_on}, gated by its "
            f"Champion step against "
            f"`{document['champion']['package_arn']}` (dataset version "
            f"`{document['champion']['dataset_version'] or '?'}`).",
            "",
            *_table(["metric", "champion", "challenger"], rows),
            *_decision(document),
            f"![Precision-recall curves of the champion and the challenger, each with its "
            f"operating point]({PR_PLOT})",
            "",
        ]
    return lines


def _simulation(result: LoopResult, out: Path) -> list[str]:
    """The simulated hours of prod: its plot, its invariants, where its own report is."""
    from ops.simulate.report import PLOT, headline

    simulation = result.simulation
    if simulation is None or simulation.report_path is None:
        return []
    plot = simulation.report_path.parent / PLOT
    if plot.is_file():
        shutil.copy2(plot, out / SIMULATION_PLOT)
    rows = [[c.name, "pass" if c.passed else "**fail**", c.detail] for c in simulation.checks]
    return [
        f"## Prod in simulated time ({simulation.scenario.hours} h, scenario "
        f"`{simulation.scenario.name}`)",
        "",
        headline(simulation) or "The retrained model did not reach prod in the scenario's time.",
        "",
        f"![served model, PSI, flag rate, recall and events over time]({SIMULATION_PLOT})",
        "",
        *_table(["invariant", "verdict", "figures"], rows),
        f"The simulation's timeline and report: `{simulation.timeline_path}`, "
        f"`{simulation.report_path}`.",
        "",
    ]


def _decision(document: dict[str, Any]) -> list[str]:
    """The Champion step's decision in words, and why the drops are as large as they are."""
    from ops.demo.loop import DEFAULT_ROWS
    from pipelines.jobs.champion_report import decision_lines

    evidence = document.get("evidence") or {}
    return [
        f"The drops are sized ({DEFAULT_ROWS:,} rows by default) so that the gates have "
        f"power: this test split (the latest 20%) holds {evidence.get('rows', 0):,} rows and "
        f"{evidence.get('positives', 0)} frauds, against the "
        f"{document.get('gates', {}).get('min_test_positives', 30):g} the gates require. At "
        "20,000 rows a test split held 20 to 40 frauds and an equal challenger failed about as "
        "often as it passed; `benchmarks/gates.py` measures the gates' error rates at this size.",
        "",
        *decision_lines(document),
    ]
