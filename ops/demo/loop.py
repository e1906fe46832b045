"""The platform's whole loop offline, stage by stage, against one moto server.

1. **data**: a drop of two files, one corrupted; the dev pipeline's Validate
   step quarantines the bad one with its reason (kept in the data bucket's
   ``quarantine/`` prefix, never deleted) and trains on the good one.
2. **release**: the registered model is deployed to dev and promoted to
   staging and prod, each copy approved; every stack is then planned from its
   pinned file, scanned and priced. Offline the prod "canary" is the planned
   deployment config (blue/green canary with its rollback alarms): moto has
   no ``UpdateEndpoint``, so no traffic shifts.
3. **traffic**: drifted requests answered by the prod-pinned model, written in
   SageMaker's capture format under the prod monitoring bucket's capture prefix.
4. **drift job**: the prod monitoring pipeline's Drift step, run as SageMaker
   runs it (the local runner's container subprocess, the plan's arguments), then
   the planned drift alarm, created in moto, evaluated by ``alarm_eval``.
5. **retrain gate**: the alarm's state change delivered twice to the cool-down
   gate of the plan's retrain function: one start, one refusal.
6. **retraining**: the prod training pipeline (the one the gate started, whose
   execution moto only records) run locally on a new data drop: a new dataset
   version, gated by the Champion step against prod's approved champion.

Stages 3 and 4 live in ``ops.demo.monitoring``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from ml.errors import MlopsError
from ops.demo.monitoring import (
    DRIFT_SCENARIO,
    DemoStageError,
    evaluate_drift_alarm,
    run_drift_step,
    send_traffic,
)

if TYPE_CHECKING:
    from infra.plan.cost import CostEstimate
    from infra.plan.engine import Plan
    from infra.plan.scan import ScanResult
    from ops.local.pipeline_runner import LocalRun

MONITORED = "prod"
DEMO_STACK = "dev"
# Per drop: the test split (latest 20%) then holds about 160 frauds, enough for the gates to
# resolve a loss of 0.05 PR AUC or 0.1 recall against the champion (benchmarks/gates.py).
DEFAULT_ROWS = 100_000
DEFAULT_TRAFFIC = 3_000
CORRUPT_FILE = "transactions-late.csv"
CANARY_NOTE = (
    "offline the canary stage is the planned deployment config (blue/green CANARY with "
    "auto-rollback alarms); moto has no UpdateEndpoint, so no traffic shifts"
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
    from ops.aws import aws_session
    from ops.demo.release_tour import release
    from ops.local.emulator import AwsClients, moto_server
    from ops.release.promote import promotion_clients

    work_dir = work_dir.resolve()
    result = LoopResult(work_dir)
    stages = Stages(result, console)
    region = load_stack(MONITORED).region
    with moto_server() as endpoint:
        console.print(f"AWS emulator: moto server at {endpoint}")
        clients = promotion_clients(region, endpoint)
        local = AwsClients(clients.s3, clients.sagemaker, region, endpoint)
        cloudwatch = aws_session(region, endpoint).client("cloudwatch", endpoint_url=endpoint)
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
        prod = result.stacks[MONITORED].plan
        now = datetime.now(UTC)
        with stages.stage("3 drifted traffic captured at the prod endpoint") as said:
            count = send_traffic(local, prod, work_dir, now, traffic, console)
            said.append(f"{count} requests ({DRIFT_SCENARIO})")
        with stages.stage("4 drift job, drift alarm") as said:
            result.drift = run_drift_step(local, prod, work_dir, now)
            result.alarm = evaluate_drift_alarm(cloudwatch, prod)
            summary = result.drift["summary"]
            console.print(
                f"drift: max PSI {summary['max_psi']:.3f} ({summary['max_psi_feature']}); "
                f"{result.alarm.name} is [bold red]{result.alarm.state}[/]: {result.alarm.reason}"
            )
            said.append(f"{result.alarm.name} {result.alarm.state}")
        with stages.stage("5 retrain through the cool-down gate") as said:
            retrain_through_gate(clients.sagemaker, prod, result, console)
            said.append(
                f"{len(result.executions)} execution of {result.retrain_pipeline} for 2 deliveries"
            )
        with stages.stage("6 retraining run, gated against the champion") as said:
            retrain(result, endpoint, shipped.stack_files[MONITORED], rows, console)
            said.append(champion_verdict(result))
    return result


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


def retrain_through_gate(sagemaker: Any, plan: Plan, result: LoopResult, console: Console) -> None:
    """The planned training pipeline in moto; the alarm delivered twice to the planned gate."""
    from ops.aws import aws_session
    from ops.local.gate_emulation import emulate_gate
    from pipelines.lambdas.retrain_gate import handle_alarm

    endpoint = sagemaker.meta.endpoint_url
    dynamodb = aws_session(sagemaker.meta.region_name, endpoint).client(
        "dynamodb", endpoint_url=endpoint
    )
    try:
        settings = emulate_gate(dynamodb, plan)
    except MlopsError as error:
        raise DemoStageError(str(error)) from None
    pipeline, cooldown = settings.pipeline_name, settings.cooldown
    planned = next(
        r["inputs"]
        for r in plan.of_type("aws:sagemaker/pipeline:Pipeline")
        if r["inputs"].get("pipelineName") == pipeline
    )
    sagemaker.create_pipeline(
        PipelineName=pipeline,
        PipelineDefinition=planned["pipelineDefinition"],
        RoleArn=str(planned.get("roleArn") or f"arn:aws:iam::123456789012:role/{pipeline}"),
    )
    gate = f"{plan.config.resource_name('retrain-gate')}"
    table = Table(title=f"alarm {result.alarm.name} -> {gate} (cool-down {cooldown})")
    for column in ("delivery", "started", "execution", "reason"):
        table.add_column(column, overflow="fold")
    event = _alarm_event(plan, result.alarm.name)
    for delivery in (1, 2):  # EventBridge delivers at least once: the same change twice
        decision = handle_alarm(
            event, settings, sagemaker=sagemaker, dynamodb=dynamodb, now=datetime.now(UTC)
        )
        result.decisions.append(decision)
        table.add_row(str(delivery), str(decision.started), decision.execution_arn, decision.reason)
    console.print(table)
    listed = sagemaker.list_pipeline_executions(PipelineName=pipeline)
    result.executions = [s["PipelineExecutionArn"] for s in listed["PipelineExecutionSummaries"]]
    result.retrain_pipeline = pipeline
    if [d.started for d in result.decisions] != [True, False] or len(result.executions) != 1:
        raise DemoStageError(
            f"the gate started {len(result.executions)} execution(s) of {pipeline} "
            "for one alarm; expected exactly one"
        )


def _alarm_event(plan: Plan, alarm: str) -> dict[str, Any]:
    """The alarm's state change into ALARM as EventBridge hands it to the gate."""
    import uuid

    region = plan.config.region
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{plan.stack}/{alarm}")),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:cloudwatch:{region}:123456789012:alarm:{alarm}"],
        "detail": {"alarmName": alarm, "state": {"value": "ALARM"}},
    }


def retrain(
    result: LoopResult, endpoint: str, stack_file: Path, rows: int, console: Console
) -> None:
    """The started pipeline run locally on a new drop; the Champion step's report kept."""
    from ops.local.pipeline_runner import run_local
    from pipelines.jobs.champion import CHAMPION_FILE, PLOT_FILE, REPORT_FILE

    console.print(
        f"moto records {result.executions[0]} but runs no step: the local runner executes "
        f"{result.retrain_pipeline} (stack {MONITORED}) in its place"
    )
    drop = write_drop(result.work_dir / "data" / "drop-2", rows, seed=43)
    run = run_local(
        MONITORED,
        input_path=drop,
        work_dir=result.work_dir / "retrain",
        endpoint_url=endpoint,
        console=console,
        config_file=stack_file,
    )
    result.retrain_run = run
    reports = sorted((result.work_dir / "retrain" / "runs" / run.execution_id).rglob(REPORT_FILE))
    if not reports or not (reports[0].parent / PLOT_FILE).is_file():
        raise DemoStageError(f"the Champion step of {run.execution_id} wrote no {REPORT_FILE}")
    result.champion_dir = reports[0].parent
    result.champion = json.loads((result.champion_dir / CHAMPION_FILE).read_text())
    if result.champion.get("champion", {}).get("package_arn") in (None, "none"):
        raise DemoStageError("the retraining run found no approved champion in prod to gate on")
    console.print((result.champion_dir / REPORT_FILE).read_text(encoding="utf-8"))


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
