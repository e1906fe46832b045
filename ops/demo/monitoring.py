"""The monitoring half of the demo loop: a shortened scenario of the simulation, on prod.

After the release half pinned a model in prod, ``mlops simulate``'s ``demo``
scenario runs against the same moto server from prod's pinned stack file:
hours of traffic captured at prod's endpoint, labels arriving late, the
monitoring pipeline on its planned schedule, the planned alarms judged as
CloudWatch judges them, the drift alarm delivered (each delivery twice) through
the plan's rule to the retrain gate's handler, the run it starts gated against
prod's champion, a reviewer's approval, the pull request that pins the new
package, and the planned canary. The demo's stages stop the simulation at each
of those points; ``ops/simulate/`` is the simulation itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.errors import MlopsError

if TYPE_CHECKING:
    from ops.simulate.engine import Simulation
    from ops.simulate.state import Sim

DRIFT_SCENARIO = "amount_shift"


class DemoStageError(MlopsError):
    """A stage of the demo did not do what the loop needs; the message names the stage."""


def prod_simulation(
    endpoint_url: str, stack_file: Path, work_dir: Path, console: Any, traffic: int
) -> Simulation:
    """The ``demo`` scenario on the demo's emulator, from prod's pinned stack file.

    Every event is delivered exactly twice, as at-least-once delivery may, so
    the gate's refusal of the second copy shows in the report.
    """
    from ops.simulate.engine import Attach, Simulation
    from ops.simulate.events import DeliveryPolicy
    from ops.simulate.scenario import DEMO

    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return Simulation(
        replace(DEMO, captured_per_hour=traffic),
        work_dir,
        console=console,
        attach=Attach(endpoint_url, stack_file, start),
        delivery=DeliveryPolicy(repeat_share=1.0, max_copies=2),
    )


def first_alarm(sim: Sim, name: str) -> Any:
    """The first time ``name`` entered ALARM, or None."""
    found = [
        e
        for e in sim.timeline.of_kind("alarm")
        if e.detail["name"] == name and e.detail["state"] == "ALARM"
    ]
    return found[0] if found else None


def drift_report_at(sim: Sim, at: datetime) -> dict[str, Any]:
    """The drift report of the last monitoring run measured before ``at``."""
    runs = [
        e
        for e in sim.runs.executions.values()
        if e.reports.get("Drift", {}).get("status") == "measured"
        and "max_psi" in e.reports["Drift"].get("summary", {})  # none on too few rows
        and e.finished is not None
        and e.finished <= at
    ]
    if not runs:
        raise DemoStageError("no monitoring run measured drift before the drift alarm")
    return dict(max(runs, key=lambda e: e.started).reports["Drift"])


def alarms_entering_with(sim: Sim, at: datetime) -> set[str]:
    """The alarms that entered ALARM at ``at``: the drift alarm and the feature alarms with it."""
    return {
        str(e.detail["name"])
        for e in sim.timeline.of_kind("alarm")
        if e.at == at and e.detail["state"] == "ALARM"
    }


@dataclass(frozen=True)
class GateDecision:
    """One delivery of an alarm's event to the retrain gate, and what the gate did."""

    alarm: str
    started: bool
    execution_arn: str
    reason: str


def retrain_alarms(sim: Sim) -> set[str]:
    """The alarms whose state changes the plan's rules deliver to the retrain gate."""
    assert sim.plan is not None
    names = set()
    for rule in sim.plan.of_type("aws:cloudwatch/eventRule:EventRule"):
        if "retrain-on" not in str(rule["inputs"].get("name", "")):
            continue
        pattern = json.loads(rule["inputs"]["eventPattern"])
        names |= {arn.rsplit(":alarm:", 1)[-1] for arn in pattern.get("resources", [])}
    return names


def gate_decisions(sim: Sim, alarm_event_at: datetime, alarms: set[str]) -> list[GateDecision]:
    """The gate's decisions for the deliveries of each of ``alarms``' first event from
    ``alarm_event_at`` on, in the order the gate made them."""
    calls = [
        e
        for e in sim.timeline.of_kind("gate")
        if e.detail["alarm"] in alarms and e.at >= alarm_event_at
    ]
    first: dict[str, str] = {}
    for e in calls:
        first.setdefault(str(e.detail["alarm"]), str(e.detail["event_id"]))
    return [
        GateDecision(
            str(e.detail["alarm"]),
            bool(e.detail["started"]),
            str(e.detail["execution"]),
            str(e.detail["reason"]),
        )
        for e in calls
        if e.detail["event_id"] == first[str(e.detail["alarm"])]
    ]


def alarm_started_run(sim: Sim) -> Any:
    """The first training run the gate started, or None."""
    runs = sorted(
        (e for e in sim.runs.executions.values() if e.kind == "alarm"), key=lambda e: e.started
    )
    return runs[0] if runs else None


def champion_folder(work_dir: Path, execution_id: str) -> Path | None:
    """Where the run's Champion step left its report and plot."""
    from pipelines.jobs.champion import PLOT_FILE, REPORT_FILE

    reports = sorted((work_dir / "training" / "runs" / execution_id).rglob(REPORT_FILE))
    if not reports or not (reports[0].parent / PLOT_FILE).is_file():
        return None
    return reports[0].parent


def as_local_run(execution: Any, sim: Sim) -> Any:
    """The simulated execution as the report reads a local run."""
    from ops.local.pipeline_runner import LocalRun

    status = sim.registry.get(execution.package_arn) if execution.package_arn else None
    return LocalRun(
        execution_id=execution.execution_id,
        package_arn=execution.package_arn,
        approval_status=status,
        metadata=dict(execution.metadata),
    )


def champion_document(folder: Path | None) -> dict[str, Any]:
    from pipelines.jobs.champion import CHAMPION_FILE

    if folder is None:
        return {}
    document: dict[str, Any] = json.loads((folder / CHAMPION_FILE).read_text(encoding="utf-8"))
    return document
