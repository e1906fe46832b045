"""The monitoring half of the demo loop: drifted capture, the drift job, the drift alarm.

Each part reads what it needs from the prod plan (the monitoring pipeline's own
step arguments, the planned alarms) and runs as the deployed stack would: the
capture in SageMaker's format under the planned prefix, the Drift step through
the local runner's container subprocess, the alarm judged by CloudWatch's rule.
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


def send_traffic(
    clients: Any,
    plan: Plan,
    work_dir: Path,
    now: datetime,
    rows: int,
    console: Console,
    scenario: str = DRIFT_SCENARIO,
) -> int:
    """Last full hour of requests answered by the pinned model, captured as the endpoint does."""
    from ml.capture_writer import simulate_traffic, write_capture
    from ml.data import generate
    from ml.inference import model_fn
    from ops.local.emulator import ensure_bucket
    from pipelines.jobs.capture_window import fetch_model_files, model_data_url

    drift = _monitoring_steps(plan)["Drift"]
    bucket, prefix = _argument(drift, "--bucket"), _argument(drift, "--capture-prefix")
    package = _argument(drift, "--model-package-arn")
    ensure_bucket(clients.s3, bucket, clients.region)
    model_dir = fetch_model_files(
        clients.s3, model_data_url(clients.sagemaker, package), work_dir / "serving-model"
    )
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    lines, _labels = simulate_traffic(
        generate(rows, seed=5, drift=scenario),
        model_fn(model_dir),
        start=hour + timedelta(minutes=1),
        seconds_between=min(1.0, 3000 / max(rows, 1)),
    )
    endpoint, variant = prefix.strip("/").split("/")[-2:]
    root = work_dir / "capture"
    for path in write_capture(lines, root, endpoint=endpoint, variant=variant):
        relative = path.relative_to(root / endpoint / variant).as_posix()
        clients.s3.upload_file(str(path), bucket, f"{prefix.rstrip('/')}/{relative}")
    console.print(
        f"captured {len(lines)} {scenario} requests answered by {package} under "
        f"s3://{bucket}/{prefix}",
        soft_wrap=True,
    )
    return len(lines)


def run_drift_step(clients: Any, plan: Plan, work_dir: Path, now: datetime) -> dict[str, Any]:
    """The monitoring pipeline's Drift step through the local runner's container subprocess.

    Its arguments are the plan's, plus ``--now`` so the window is the hour the
    traffic was written in even if the clock turns an hour meanwhile.
    """
    from infra.image_context import LOCAL_ACCOUNT
    from ops.local.job_runner import JobRunner
    from ops.local.run_state import RunState
    from ops.local.step_cache import StepCache

    steps = _monitoring_steps(plan)
    step = json.loads(json.dumps(steps["Drift"]))
    step["Arguments"]["AppSpecification"]["ContainerArguments"] += ["--now", now.isoformat()]
    runner = JobRunner(
        clients,
        work_dir / "monitoring" / "runs",
        StepCache(work_dir / "monitoring" / "cache"),
        pipeline=f"{plan.stack}-monitoring",
        account=LOCAL_ACCOUNT,
    )
    state = RunState(
        parameters={},
        execution={"PipelineExecutionId": "demo-drift", "PipelineName": "monitoring"},
    )
    runner.processing(step, state)
    out = runner.map_path("Drift", _argument(step, "--out"))
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    if report.get("status") != "measured":
        raise DemoStageError(f"the drift job found no traffic to measure: {report.get('source')}")
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
