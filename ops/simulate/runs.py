"""Pipeline executions: started in the emulator, run by the local runner, reported as SageMaker.

moto records ``StartPipelineExecution`` and runs nothing, so each execution the
emulator holds is walked by ``ops.local.pipeline_runner.run_execution`` with
the definition and parameters moto recorded for it
(``DescribePipelineDefinitionForExecution``, ``ListPipelineParametersForExecution``).
A run takes simulated time (the scenario's durations): its steps run when it
finishes, the monitoring jobs with ``--now`` set to its start (the container's
clock), and SageMaker's pipeline metrics are published for it
(``AWS/Sagemaker/ModelBuildingPipeline``: ``ExecutionStarted``,
``ExecutionSucceeded`` or ``ExecutionFailed`` per ``PipelineName``;
https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html#cloudwatch-metrics-pipelines).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from ml.errors import MlopsError
from pipelines.metrics import put_metric_data

if TYPE_CHECKING:
    from infra.plan.engine import Plan
    from ops.local.job_runner import Launcher
    from ops.simulate.clients import SimClients

PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
RUN_KIND = "RunKind"  # pipelines.lambdas.start_pipeline.RUN_KIND_PARAMETER
TRAINING_TIME = timedelta(minutes=40)
MONITORING_TIME = timedelta(minutes=8)
REPORT_DIR = "/opt/ml/processing/output/report"
REPORTS = {"Drift": "drift.json", "Quality": "quality.json"}


@dataclass
class Execution:
    """One pipeline execution: who started it, when, and how it ended."""

    arn: str
    pipeline: str
    kind: str
    started: datetime
    parameters: dict[str, str]
    status: str = "Executing"
    finished: datetime | None = None
    failure: str = ""
    package_arn: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def execution_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


class PipelineRuns:
    """Finds the executions the emulator was asked to start and runs them."""

    def __init__(
        self, clients: SimClients, work_dir: Path, launcher: Launcher, console: Console
    ) -> None:
        self.clients, self.work_dir, self.launcher = clients, work_dir, launcher
        self.console = console
        self.executions: dict[str, Execution] = {}
        self.plan: Plan | None = None

    def pipelines(self) -> dict[str, str]:
        """Planned pipeline names -> role (``training`` or ``monitoring``)."""
        if self.plan is None:
            return {}
        outputs = self.plan.outputs
        roles = {"trainingPipelineName": "training", "monitoringPipelineName": "monitoring"}
        return {str(outputs[key]): role for key, role in roles.items() if outputs.get(key)}

    def collect(self, kind: str, now: datetime) -> list[Execution]:
        """Executions in the emulator that are new since the last look.

        Each has the kind its ``RunKind`` parameter names, else ``kind`` (who started it).
        """
        found = []
        for pipeline in self.pipelines():
            listed = self.clients.sagemaker.list_pipeline_executions(PipelineName=pipeline)
            for summary in listed["PipelineExecutionSummaries"]:
                arn = summary["PipelineExecutionArn"]
                if arn in self.executions:
                    continue
                parameters = self.clients.sagemaker.list_pipeline_parameters_for_execution(
                    PipelineExecutionArn=arn
                ).get("PipelineParameters", [])
                given = {p["Name"]: p["Value"] for p in parameters}
                execution = Execution(arn, pipeline, given.get(RUN_KIND, kind), now, given)
                self.executions[arn] = execution
                found.append(execution)
        return found

    def duration(self, execution: Execution) -> timedelta:
        return MONITORING_TIME if self.role(execution) == "monitoring" else TRAINING_TIME

    def role(self, execution: Execution) -> str:
        return self.pipelines().get(execution.pipeline, "training")

    def run(self, execution: Execution, now: datetime) -> Execution:
        """Walk the execution's recorded definition; it finishes at ``now``."""
        from ops.local.job_runner import StepFailedError
        from ops.local.pipeline_runner import LocalRun, run_execution

        described = self.clients.sagemaker.describe_pipeline_definition_for_execution(
            PipelineExecutionArn=execution.arn
        )
        definition = json.loads(described["PipelineDefinition"])
        monitoring = self.role(execution) == "monitoring"
        if monitoring:
            definition = with_clock(definition, execution.started)
        run = LocalRun(execution_id=execution.execution_id)
        log = self.work_dir / "logs" / f"{execution.execution_id}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w", encoding="utf-8") as out:
            console = Console(file=out, width=140, force_terminal=False)
            try:
                run_execution(
                    self.clients.aws,
                    definition,
                    run,
                    self.work_dir / ("monitoring" if monitoring else "training"),
                    console,
                    pipeline_name=execution.pipeline,
                    parameters=execution.parameters,
                    local_environment=self._environment(execution, monitoring),
                    launcher=self.launcher,
                )
                execution.status = "Succeeded"
            except (StepFailedError, MlopsError) as failed:
                execution.status, execution.failure = "Failed", str(failed)
        execution.finished = now
        execution.package_arn, execution.metadata = run.package_arn, dict(run.metadata)
        if monitoring:
            execution.reports = self._reports(execution)
        self._publish(execution)
        return execution

    def _environment(self, execution: Execution, monitoring: bool) -> dict[str, str]:
        if monitoring or self.plan is None:
            return {}
        from ops.local.pipeline_runner import local_spec, offline_records

        return offline_records(local_spec(self.plan.config), execution.execution_id)

    def _reports(self, execution: Execution) -> dict[str, dict[str, Any]]:
        from ops.local.container import PathMap

        found = {}
        for step, name in REPORTS.items():
            root = self.work_dir / "monitoring" / "runs" / execution.execution_id / step
            path = PathMap(root / "opt" / "ml").local(f"{REPORT_DIR}/{name}")
            if path.is_file():
                found[step] = json.loads(path.read_text(encoding="utf-8"))
        return found

    def _publish(self, execution: Execution) -> None:
        """SageMaker's execution metrics for this run, at its start and its end."""
        dims = [{"Name": "PipelineName", "Value": execution.pipeline}]
        ended = "ExecutionSucceeded" if execution.status == "Succeeded" else "ExecutionFailed"
        finished = execution.finished or execution.started
        seconds = (finished - execution.started).total_seconds()
        data = [
            _datum("ExecutionStarted", 1, dims, execution.started, "Count"),
            _datum(ended, 1, dims, finished, "Count"),
            _datum("ExecutionDuration", seconds * 1000, dims, finished, "Milliseconds"),
        ]
        put_metric_data(self.clients.cloudwatch, PIPELINE_NAMESPACE, data)


def with_clock(definition: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The definition with ``--now`` on each processing step: the container's clock."""
    copy = json.loads(json.dumps(definition))
    for step in copy["Steps"]:
        if step.get("Type") == "Processing":
            arguments = step["Arguments"]["AppSpecification"].setdefault("ContainerArguments", [])
            arguments += ["--now", now.isoformat()]
    return copy


def _datum(
    name: str, value: float, dims: list[dict[str, str]], when: datetime, unit: str
) -> dict[str, Any]:
    return {"MetricName": name, "Dimensions": dims, "Timestamp": when, "Value": value, "Unit": unit}
