"""Start the deployed training pipeline, saying who started it and, optionally, on what input.

Nothing about the champion is passed in: the pipeline's Champion step reads
it from the registry in every run, so a manual start, the schedule and an
alarm-started run are gated alike. What differs is the ``RunKind`` parameter
(``scheduled`` from the schedule's target input, ``alarm`` from the retrain
gate, ``manual`` from ``mlops pipeline start`` and the definition's default),
which SageMaker records per execution (``ListPipelineParametersForExecution``)
and which only the Dataset step reads, so it never changes a cache key.
``--input`` changes which prefix the Dataset step versions (``InputDataUri``,
default ``s3://<data>/raw/``).

API: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StartPipelineExecution.html
(``ClientRequestToken``: 32-128 characters, "an idempotent operation completes no more than once").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RUN_KIND_PARAMETER = "RunKind"
SCHEDULED, ALARM, MANUAL = "scheduled", "alarm", "manual"
RUN_KINDS = (SCHEDULED, ALARM, MANUAL)
INPUT_PARAMETER = "InputDataUri"
TOKEN_CHARS = (32, 128)
DESCRIPTION_CHARS = 3072


@dataclass(frozen=True)
class Started:
    """A started execution and the parameters it was given."""

    execution_arn: str
    parameters: dict[str, str]


def run_parameters(kind: str, input_uri: str | None = None) -> dict[str, str]:
    """The parameters a start passes: the run's kind, and the input prefix when one is given."""
    if kind not in RUN_KINDS:
        raise ValueError(f"run kind {kind!r} is not one of {', '.join(RUN_KINDS)}")
    return {RUN_KIND_PARAMETER: kind, **({INPUT_PARAMETER: input_uri} if input_uri else {})}


def start_training(
    client: Any,
    pipeline_name: str,
    input_uri: str | None = None,
    *,
    kind: str = MANUAL,
    description: str = "started by mlops pipeline start",
    client_token: str | None = None,
) -> Started:
    """Start one execution of ``kind``; ``client_token`` makes a repeated start the same one."""
    parameters = run_parameters(kind, input_uri)
    request: dict[str, Any] = {
        "PipelineName": pipeline_name,
        "PipelineParameters": [{"Name": k, "Value": v} for k, v in parameters.items()],
        "PipelineExecutionDescription": description[:DESCRIPTION_CHARS],
    }
    if client_token is not None:
        low, high = TOKEN_CHARS
        if not low <= len(client_token) <= high:
            raise ValueError(f"a client request token has {low}-{high} characters")
        request["ClientRequestToken"] = client_token
    started = client.start_pipeline_execution(**request)
    return Started(started["PipelineExecutionArn"], parameters)
