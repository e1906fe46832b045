"""The platform's whole loop offline, stage by stage, against one moto server.

1. **data**: a drop of two files, one corrupted; the dev pipeline's Validate
   step quarantines the bad one with its reason (kept in the data bucket's
   ``quarantine/`` prefix, never deleted) and trains on the good one.
2. **release**: the registered model is deployed to dev and promoted to
   staging and prod, each copy approved; every stack is then planned from its
   pinned file, scanned and priced.
3. **monitoring in simulated time**: the ``demo`` scenario of ``mlops
   simulate`` runs prod from its pinned file: hourly traffic captured at the
   endpoint (drifted from its second hour), labels arriving late, the monitoring
   pipeline on its schedule, the planned alarms judged, until the drift alarm.
4. **retrain gate**: the alarm's state change, delivered twice through the
   plan's rule to the retrain gate's handler: one start, one refusal.
5. **retraining**: the run the gate started, walked by the local runner, gated
   by its Champion step against prod's approved champion.
6. **delivery**: the reviewer's approval, the pull request that pins the new
   package, its review, and the planned canary, to the end of the scenario.

Stages 3 to 6 stop the simulation at each point (``ops.demo.monitoring``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from ml.errors import MlopsError
from ops.demo.monitoring import DemoStageError

if TYPE_CHECKING:
    from infra.plan.cost import CostEstimate
    from infra.plan.engine import Plan
    from infra.plan.scan import ScanResult
    from ops.local.pipeline_runner import LocalRun
    from ops.simulate.engine import SimulationResult

MONITORED = "prod"
DEMO_STACK = "dev"
# Per drop: the test split (latest 20%) then holds about 160 frauds, enough for the gates to
# resolve a loss of 0.05 PR AUC or 0.1 recall against the champion (benchmarks/gates.py).
DEFAULT_ROWS = 100_000
DEFAULT_TRAFFIC = 400  # requests captured per simulated hour of prod
CORRUPT_FILE = "transactions-late.csv"
CANARY_NOTE = (
    "moto has no UpdateEndpoint: the simulation plays the planned deployment config "
    "(blue/green CANARY, its bakes and auto-rollback alarms judged on the new fleet's metrics)"
)


@dataclass
class StageTiming:
    name: str
    seconds: float
    outcome: str


@dataclass
class StackReview:
    """One stack's plan, scan and cost, as the report summarises them."""

    plan: Plan
    scan: ScanResult
    cost: CostEstimate


@dataclass
class LoopResult:
    """What each stage produced, for the report and the tests."""

    work_dir: Path
    stages: list[StageTiming] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    stacks: dict[str, StackReview] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    alarm: Any = None
    decisions: list[Any] = field(default_factory=list)
    executions: list[str] = field(default_factory=list)
    retrain_pipeline: str = ""
    first_run: LocalRun | None = None
    retrain_run: LocalRun | None = None
    champion_dir: Path | None = None
    champion: dict[str, Any] = field(default_factory=dict)
    simulation: SimulationResult | None = None


class Stages:
    """Times each stage and turns its failure into one line naming the stage."""

    def __init__(self, result: LoopResult, console: Console) -> None:
        self.result, self.console = result, console

    @contextmanager
    def stage(self, name: str) -> Iterator[list[str]]:
        from botocore.exceptions import BotoCoreError, ClientError

        self.console.rule(f"[bold]stage: {name}[/]")
        outcome: list[str] = []
        started = time.perf_counter()
        try:
            yield outcome
        except (MlopsError, ClientError, BotoCoreError, LookupError) as error:
            raise DemoStageError(f"demo stage {name!r} failed: {error}") from None
        finally:
            seconds = time.perf_counter() - started
            self.result.stages.append(StageTiming(name, seconds, "; ".join(outcome)))


def run_loop(
    work_dir: Path,
    stacks: list[str],
    console: Console,
    rows: int = DEFAULT_ROWS,
    traffic: int = DEFAULT_TRAFFIC,
) -> LoopResult:
    """Every stage in order against one emulator; raises ``DemoStageError`` on the first failure."""
    from infra.config import load_stack
    from ops.demo.release_tour import release
    from ops.local.emulator import moto_server
    from ops.release.promote import promotion_clients

    work_dir = work_dir.resolve()
    result = LoopResult(work_dir)
    stages = Stages(result, console)
    region = load_stack(MONITORED).region
    with moto_server() as endpoint:
        console.print(f"AWS emulator: moto server at {endpoint}")
        clients = promotion_clients(region, endpoint)
        with stages.stage("1 data: validate, quarantine, train, register") as said:
            drop = write_drop(work_dir / "data" / "drop-1", rows, seed=42, corrupt=True)
            shipped = release(clients, endpoint, work_dir, MONITORED, console, drop)
            result.first_run = shipped.run
            result.quarantined = fetch_quarantine(
                clients.s3, shipped.run, work_dir / "quarantine", console
            )
            said.append(f"{len(result.quarantined)} file quarantined, model registered in dev")
        with stages.stage("2 approve, deploy, promote; plan, scan and cost every stack") as said:
            toured = sorted({*stacks, MONITORED}, key=["dev", "staging", "prod"].index)
            result.stacks = review_stacks(toured, shipped.stack_files, work_dir, console)
            console.print(f"[yellow]note[/]: {CANARY_NOTE}")
            served = shipped.packages[MONITORED].arn.split(":model-package/")[-1]
            said.append(f"prod serves {served}; {len(result.stacks)} stack(s) scanned")
        monitor(result, stages, endpoint, shipped.stack_files[MONITORED], console, traffic)
    return result


def monitor(
    result: LoopResult,
    stages: Stages,
    endpoint: str,
    stack_file: Path,
    console: Console,
    traffic: int = DEFAULT_TRAFFIC,
) -> None:
    """Stages 3 to 6: the simulation of prod, stopped at each point of the loop."""
    from ops.demo import monitoring

    simulation = monitoring.prod_simulation(
        endpoint, stack_file, result.work_dir / "simulation", console, traffic
    )
    with simulation:
        sim = simulation.sim
        assert sim is not None and sim.plan is not None
        outputs = sim.plan.outputs
        alarm = str(outputs["driftAlarmName"])
        with stages.stage("3 prod in simulated time: traffic, labels, hourly monitoring") as said:
            simulation.run(lambda s: monitoring.first_alarm(s, alarm) is not None)
            fired = monitoring.first_alarm(sim, alarm)
            if fired is None:
                raise DemoStageError(f"{alarm} never entered ALARM in {sim.scenario.hours} h")
            result.drift = monitoring.drift_report_at(sim, fired.at)
            result.alarm = AlarmState(alarm, "ALARM", str(fired.detail["reason"]))
            summary = result.drift["summary"]
            said.append(
                f"{alarm} ALARM at simulated h{fired.detail['hour']:.1f}: max PSI "
                f"{summary['max_psi']:.3f} on {summary['max_psi_feature']}"
            )
        with stages.stage("4 retrain through the cool-down gate") as said:
            # the drift alarm and the feature alarms that entered ALARM with it, each
            # delivered twice to the gate
            heard = monitoring.alarms_entering_with(sim, fired.at) & monitoring.retrain_alarms(sim)
            simulation.run(
                lambda s: len(monitoring.gate_decisions(s, fired.at, heard)) >= 2 * len(heard)
            )
            result.decisions = monitoring.gate_decisions(sim, fired.at, heard)
            started = monitoring.alarm_started_run(sim)
            result.executions = [started.arn] if started else []
            result.retrain_pipeline = str(outputs["trainingPipelineName"])
            said.append(
                f"{len(result.executions)} execution for {len(result.decisions)} deliveries "
                f"of {len(heard)} alarm(s)"
            )
        with stages.stage("5 retraining run, gated against the champion") as said:
            if started is None:
                raise DemoStageError("the gate started no retraining run")
            simulation.run(lambda s: started.finished is not None)
            result.retrain_run = monitoring.as_local_run(started, sim)
            result.champion_dir = monitoring.champion_folder(sim.work_dir, started.execution_id)
            result.champion = monitoring.champion_document(result.champion_dir)
            if result.champion.get("champion", {}).get("package_arn") in (None, "none"):
                raise DemoStageError("the retraining run found no approved champion in prod")
            said.append(champion_verdict(result))
        with stages.stage("6 approval, pull request, canary: to the end of the scenario") as said:
            result.simulation = simulation.finish()
            said.append(delivery_outcome(result))


@dataclass(frozen=True)
class AlarmState:
    """An alarm's state and why, as the report shows it."""

    name: str
    state: str
    reason: str


def delivery_outcome(result: LoopResult) -> str:
    """One line: whether the retrained package reached prod, and how the invariants went."""
    simulation = result.simulation
    run = result.retrain_run
    if simulation is None or simulation.sim is None:
        return "not simulated"
    served = [
        e
        for e in simulation.sim.timeline.of_kind("deploy_completed")
        if run and e.detail["package"] == run.package_arn
    ]
    checks = sum(c.passed for c in simulation.checks)
    where = (
        f"serves in prod from simulated h{served[0].detail['hour']:.1f}"
        if served
        else "not serving in prod by the end"
    )
    return f"retrained package {where}; {checks} of {len(simulation.checks)} invariants hold"


def write_drop(directory: Path, rows: int, seed: int, corrupt: bool = False) -> Path:
    """A new drop of transactions; with ``corrupt`` a second file whose labels are missing."""
    from ml import schema
    from ml.data import generate
    from ml.io import write_table

    directory.mkdir(parents=True, exist_ok=True)
    write_table(generate(rows, seed=seed), directory / "transactions.csv")
    if corrupt:
        late = generate(max(rows // 10, 200), seed=seed + 1)
        write_table(late.drop(columns=[schema.LABEL_COLUMN]), directory / CORRUPT_FILE)
    return directory


def fetch_quarantine(
    s3: Any, run: LocalRun, target: Path, console: Console
) -> list[dict[str, Any]]:
    """The run's quarantined files and their reasons, copied from the data bucket's prefix."""
    from infra.config import load_stack
    from ops.local.pipeline_runner import local_spec

    spec = local_spec(load_stack(DEMO_STACK))
    prefix = f"quarantine/{run.execution_id}/"
    listed = s3.list_objects_v2(Bucket=spec.data_bucket, Prefix=prefix).get("Contents", [])
    target.mkdir(parents=True, exist_ok=True)
    for item in listed:
        local = target / item["Key"].removeprefix(prefix)
        local.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(spec.data_bucket, item["Key"], str(local))
    reasons = [json.loads(p.read_text()) for p in sorted(target.rglob("*.reason.json"))]
    if not reasons:
        raise DemoStageError(
            f"Validate quarantined nothing under s3://{spec.data_bucket}/{prefix}; "
            f"the corrupted {CORRUPT_FILE} should have been"
        )
    for reason in reasons:
        kept = f"s3://{spec.data_bucket}/{prefix}{reason['quarantined_as']}"
        checks = ", ".join(reason.get("checks_failed", []))
        console.print(f"quarantined {kept} ({checks}); kept with its reason", soft_wrap=True)
    return reasons


def review_stacks(
    stacks: list[str], stack_files: dict[str, Path], work_dir: Path, console: Console
) -> dict[str, StackReview]:
    """Plan each stack from its pinned file and write its plan; scan them all (one checkov
    start-up for every stack); price each."""
    from infra.plan.cost import estimate_cost
    from infra.plan.scan import scan_plans
    from ops.plan_report import (
        print_plan,
        print_scan,
        synthesize_with_progress,
        write_outputs,
    )

    plans = []
    for stack in stacks:
        plan = synthesize_with_progress(stack, stack_files.get(stack), [])
        print_plan(plan, quiet=True)
        write_outputs(
            plan,
            json_out=work_dir / f"{stack}.plan.json",
            tfplan=work_dir / f"{stack}.tfplan.json",
            k8s_dir=None,
        )
        plans.append(plan)
    names = ", ".join(stacks)
    with console.status(f"scanning {names} with checkov and the project policies"):
        scans = scan_plans(plans)
    reviews = {}
    for plan, scan in zip(plans, scans, strict=True):
        print_scan(scan)
        if not scan.passed:
            raise DemoStageError(f"stack {plan.stack}: {len(scan.failures)} scan check(s) failed")
        rollout, alarms = serving(plan)
        console.print(f"{plan.stack}: endpoint {rollout}; rollback alarms {alarms}")
        reviews[plan.stack] = StackReview(plan, scan, estimate_cost(plan))
    return reviews


def serving(plan: Plan) -> tuple[str, str]:
    """The endpoint's name and traffic routing, and its rollback alarms; or why there is none."""
    endpoints = plan.of_type("aws:sagemaker/endpoint:Endpoint")
    if not endpoints:
        return str(plan.outputs.get("servingStatus", "none")), "-"
    inputs = endpoints[0]["inputs"]
    config = inputs.get("deploymentConfig") or {}
    blue_green = config.get("blueGreenUpdatePolicy") or {}
    routing = blue_green.get("trafficRoutingConfiguration") or {}
    kind = routing.get("type")
    if kind == "CANARY":
        size = routing.get("canarySize") or {}
        kind = f"CANARY {size.get('value', '?')} {str(size.get('type', '')).lower()}"
        kind += f", bake {routing.get('waitIntervalInSeconds', '?')} s"
    rollout = kind or ("ROLLING" if config.get("rollingUpdatePolicy") else "none")
    alarms = (config.get("autoRollbackConfiguration") or {}).get("alarms") or []
    return f"{inputs['name']} ({rollout})", ", ".join(a["alarmName"] for a in alarms) or "-"


def champion_verdict(result: LoopResult) -> str:
    """One line: the challenger's PR AUC against the champion's, and what was registered."""
    metrics = result.champion["metrics"]
    run = result.retrain_run
    registered = (
        f"registered {run.package_arn.rsplit('/', 1)[-1]} ({run.approval_status})"
        if run and run.package_arn
        else "nothing registered"
    )
    return (
        f"challenger PR AUC {metrics['challenger']['pr_auc']:.3f} vs champion "
        f"{metrics['champion']['pr_auc']:.3f}; {registered}"
    )


def timing_table(result: LoopResult) -> Table:
    table = Table(title="mlops demo: the loop, stage by stage")
    for column in ("stage", "seconds", "outcome"):
        table.add_column(column, overflow="fold")
    for stage in result.stages:
        table.add_row(stage.name, f"{stage.seconds:.1f}", stage.outcome)
    table.add_row("total", f"{sum(s.seconds for s in result.stages):.1f}", "")
    return table
