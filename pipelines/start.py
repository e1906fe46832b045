"""Start the deployed training pipeline with the champion floors read from the registry.

The floors are pipeline parameters (``ChampionFloorPrAuc``,
``ChampionFloorRecallAtPrecision``): this is the start that makes a run beat
the current champion, not only the fixed metric gates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.registry import champion_floors


@dataclass(frozen=True)
class Started:
    """A started execution and the parameters it was given."""

    execution_arn: str
    parameters: dict[str, str]


def start_training(
    client: Any, pipeline_name: str, group: str, max_regression: float, input_uri: str | None = None
) -> Started:
    """Start one execution; the champion floors come from the group's newest approved package."""
    pr_floor, recall_floor = champion_floors(client, group, max_regression)
    parameters = {
        "ChampionFloorPrAuc": f"{pr_floor:.6f}",
        "ChampionFloorRecallAtPrecision": f"{recall_floor:.6f}",
    }
    if input_uri:
        parameters["InputDataUri"] = input_uri
    started = client.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
        PipelineExecutionDescription="started with the champion floors from the registry",
    )
    return Started(started["PipelineExecutionArn"], parameters)
