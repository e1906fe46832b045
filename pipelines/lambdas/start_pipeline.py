"""Start the deployed training pipeline by hand, optionally on another input prefix.

Nothing about the champion is passed in: the pipeline's Champion step reads
it from the registry in every run, so a manual start, the schedule and an
alarm-started run are gated alike. ``--input`` only changes which prefix the
Dataset step versions (``InputDataUri``, default ``s3://<data>/raw/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Started:
    """A started execution and the parameters it was given."""

    execution_arn: str
    parameters: dict[str, str]


def start_training(client: Any, pipeline_name: str, input_uri: str | None = None) -> Started:
    """Start one execution; ``input_uri`` overrides the prefix the Dataset step versions."""
    parameters = {"InputDataUri": input_uri} if input_uri else {}
    started = client.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
        PipelineExecutionDescription="started by mlops pipeline start",
    )
    return Started(started["PipelineExecutionArn"], parameters)
