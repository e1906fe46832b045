"""Retrain on an alarm at most once per cool-down: the Lambda function the retrain rule invokes.

A flapping drift alarm enters ALARM again and again, and EventBridge delivers
each state change at least once. Instead of starting the pipeline for each,
the rule invokes this function (reserved concurrency 1, so two deliveries never
check at the same time). It lists the pipeline's executions and starts one only
if none started within ``RETRAIN_COOLDOWN_MINUTES``. The run it starts is gated
against the champion like any other: the pipeline's Champion step reads it
from the registry.

Environment: ``PIPELINE_NAME``, ``RETRAIN_COOLDOWN_MINUTES``. boto3 uses the default chain, so
``AWS_ENDPOINT_URL`` points it at an emulator.
API: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListPipelineExecutions.html
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.lambdas.start_pipeline import start_training


@dataclass(frozen=True)
class Decision:
    """What the gate did: started an execution, or found a recent one and left it."""

    started: bool
    execution_arn: str
    reason: str


def recent_execution(client: Any, pipeline_name: str, since: datetime) -> dict[str, Any] | None:
    """The newest execution of ``pipeline_name`` started at or after ``since``, if any."""
    response = client.list_pipeline_executions(
        PipelineName=pipeline_name,
        CreatedAfter=since,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=10,
    )
    for summary in response.get("PipelineExecutionSummaries", []):
        started = summary.get("StartTime")
        # Filtered here as well: the window is the contract, whatever the service returns.
        if isinstance(started, datetime) and started >= since:
            return dict(summary)
    return None


def start_unless_cooling_down(
    client: Any,
    pipeline_name: str,
    cooldown: timedelta,
    now: datetime | None = None,
) -> Decision:
    """Start one execution unless one started within ``cooldown`` before ``now``."""
    since = (now or datetime.now(UTC)) - cooldown
    recent = recent_execution(client, pipeline_name, since)
    if recent is not None:
        return Decision(
            started=False,
            execution_arn=str(recent["PipelineExecutionArn"]),
            reason=f"an execution started at {recent['StartTime'].isoformat()}, "
            f"within the {cooldown} cool-down",
        )
    started = start_training(client, pipeline_name)
    return Decision(True, started.execution_arn, "no execution within the cool-down")


def handler(event: dict[str, Any], context: object, now: datetime | None = None) -> dict[str, Any]:
    """Lambda entry point: one alarm state change in, one decision out (logged as JSON).

    Lambda passes ``event`` and ``context`` only; ``now`` is the clock of a
    caller that runs in simulated time (``mlops simulate``).
    """
    import boto3

    decision = start_unless_cooling_down(
        boto3.client("sagemaker"),
        os.environ["PIPELINE_NAME"],
        timedelta(minutes=int(os.environ["RETRAIN_COOLDOWN_MINUTES"])),
        now,
    )
    alarm = (event.get("detail") or {}).get("alarmName", "")
    print(json.dumps({"alarm": alarm, **asdict(decision)}))
    return asdict(decision)
