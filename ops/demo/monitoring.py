"""The monitoring half of the demo loop: drifted capture, the drift job, the drift alarm.

Each part reads what it needs from the prod plan (the monitoring pipeline's own
step arguments, the planned alarms) and runs as the deployed stack would: the
capture in SageMaker's format under the planned prefix, the Drift step through
the local runner's container subprocess, the alarm judged by CloudWatch's rule.
Traffic is honest about the clock: each hour of capture holds transactions of
that clock hour only, as a real endpoint's does, and the demo sends as many
drifted hours as the planned alarm needs breaching windows (its M of N), then
runs the Drift step once per hour, as the schedule would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from ml.errors import MlopsError

if TYPE_CHECKING:
    from infra.plan.engine import Plan

DRIFT_SCENARIO = "amount_shift"


class DemoStageError(MlopsError):
    """A stage of the demo did not do what the loop needs; the message names the stage."""


def _monitoring_steps(plan: Plan) -> dict[str, dict[str, Any]]:
    name = plan.outputs.get("monitoringPipelineName")
    pipelines = [
        r
        for r in plan.of_type("aws:sagemaker/pipeline:Pipeline")
        if r["inputs"]["pipelineName"] == name
    ]
    if not pipelines:
        raise DemoStageError(f"stack {plan.stack}: the plan has no monitoring pipeline")
    definition = json.loads(pipelines[0]["inputs"]["pipelineDefinition"])
    return {step["Name"]: step for step in definition["Steps"]}


def _argument(step: dict[str, Any], name: str) -> str:
    args = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    return str(args[args.index(name) + 1])


def alarm_windows(plan: Plan) -> int:
    """How many breaching hourly windows the planned drift alarm needs (its DatapointsToAlarm)."""
    name = plan.outputs.get("driftAlarmName")
    if name is None:
        raise DemoStageError(f"stack {plan.stack}: the plan has no drift alarm")
    inputs = plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", name)["inputs"]
    return int(inputs.get("datapointsToAlarm") or inputs["evaluationPeriods"])


def traffic_hours(now: datetime, count: int) -> list[datetime]:
    """The starts of the last ``count`` full clock hours before ``now``, oldest first."""
    top = now.replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=back) for back in range(count, 0, -1)]


def send_traffic(
    clients: Any,
    plan: Plan,
    work_dir: Path,
    now: datetime,
    rows: int,
    console: Console,
    scenario: str = DRIFT_SCENARIO,
) -> int:
    """``rows`` requests in each of the last full hours the drift alarm needs, captured as the
    endpoint does: every hour's transactions happen in that clock hour."""
    from ml.capture_writer import simulate_traffic, write_capture
    from ml.data import generate
    from ml.inference import model_fn
    from ops.local.emulator import ensure_bucket
    from pipelines.jobs.capture_window import fetch_model_files, model_data_url

    drift = _monitoring_steps(plan)["Drift"]
    bucket, prefix = _argument(drift, "--bucket"), _argument(drift, "--capture-prefix")
    package = _argument(drift, "--model-package-arn")
    ensure_bucket(clients.s3, bucket, clients.region)
    model = model_fn(
        fetch_model_files(
            clients.s3, model_data_url(clients.sagemaker, package), work_dir / "serving-model"
        )
    )
    endpoint, variant = prefix.strip("/").split("/")[-2:]
    root = work_dir / "capture"
    hours = traffic_hours(now, alarm_windows(plan))
    for number, hour in enumerate(hours):
        frame = generate(rows, seed=5 + number, drift=scenario, hour=hour.hour)
        lines, _labels = simulate_traffic(frame, model, day=hour, seed=number)
        for path in write_capture(lines, root, endpoint=endpoint, variant=variant):
            relative = path.relative_to(root / endpoint / variant).as_posix()
            clients.s3.upload_file(str(path), bucket, f"{prefix.rstrip('/')}/{relative}")
    console.print(
        f"captured {rows} {scenario} requests in each of {len(hours)} clock hours, answered by "
        f"{package}, under s3://{bucket}/{prefix}",
        soft_wrap=True,
    )
    return rows * len(hours)


def run_drift_step(clients: Any, plan: Plan, work_dir: Path, now: datetime) -> dict[str, Any]:
    """The monitoring pipeline's Drift step through the local runner's container subprocess,
    once per hour of traffic; returns the last hour's report.

    Its arguments are the plan's, plus ``--now`` at the end of each hour, so each
    run measures its hour (as the hourly schedule would) and publishes for it.
    """
    from infra.image_context import LOCAL_ACCOUNT
    from ops.local.job_runner import JobRunner
    from ops.local.run_state import RunState
    from ops.local.step_cache import StepCache

    steps = _monitoring_steps(plan)
    report: dict[str, Any] = {}
    for hour in traffic_hours(now, alarm_windows(plan)):
        step = json.loads(json.dumps(steps["Drift"]))
        ended = hour + timedelta(hours=1)
        step["Arguments"]["AppSpecification"]["ContainerArguments"] += ["--now", ended.isoformat()]
        runner = JobRunner(
            clients,
            work_dir / "monitoring" / f"runs-{ended:%H}",
            StepCache(work_dir / "monitoring" / "cache"),
            pipeline=f"{plan.stack}-monitoring",
            account=LOCAL_ACCOUNT,
        )
        state = RunState(
            parameters={},
            execution={
                "PipelineExecutionId": f"demo-drift-{ended:%H}",
                "PipelineName": "monitoring",
            },
        )
        runner.processing(step, state)
        out = runner.map_path("Drift", _argument(step, "--out"))
        report = json.loads(out.read_text(encoding="utf-8"))
        if report.get("status") != "measured" or "max_psi" not in report.get("summary", {}):
            raise DemoStageError(
                f"the drift job did not measure the hour ending {ended.isoformat()}: "
                f"{report.get('status')} ({report.get('source')})"
            )
    return report


def evaluate_drift_alarm(cloudwatch: Any, plan: Plan) -> Any:
    """Create the planned drift alarms in moto and judge the alarm one as CloudWatch would."""
    from ops.local.alarm_evaluation import alarm_parameters, evaluate_alarm
    from pipelines.metrics import DRIFT_NAMESPACE

    name = plan.outputs.get("driftAlarmName")
    if name is None:
        raise DemoStageError(f"stack {plan.stack}: the plan has no drift alarm")
    for alarm in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        if alarm["inputs"].get("namespace") == DRIFT_NAMESPACE:
            cloudwatch.put_metric_alarm(**alarm_parameters(alarm["inputs"]))
    evaluation = evaluate_alarm(cloudwatch, name, datetime.now(UTC) + timedelta(seconds=1))
    if evaluation.state != "ALARM":
        raise DemoStageError(f"{name} is {evaluation.state}, not ALARM: {evaluation.reason}")
    return evaluation
