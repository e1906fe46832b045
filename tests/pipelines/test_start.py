"""Starting the deployed pipeline hands it the champion floors from the registry (moto)."""

from __future__ import annotations

import json

import pytest

from pipelines.start import start_training
from pipelines.training import build_definition
from tests.pipelines.conftest import GROUP, make_spec, register_package


@pytest.fixture
def pipeline(sagemaker) -> str:
    sagemaker.create_pipeline(
        PipelineName="mlops-dev-training",
        PipelineDefinition=json.dumps(build_definition(make_spec())),
        RoleArn="arn:aws:iam::123456789012:role/mlops-dev-pipeline",
    )
    return "mlops-dev-training"


def parameters_of(sagemaker, arn: str) -> dict[str, str]:
    found = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    return {p["Name"]: p["Value"] for p in found["PipelineParameters"]}


def test_floors_are_the_champions_metrics_less_the_allowed_regression(sagemaker, pipeline) -> None:
    register_package(sagemaker, status="Approved", pr_auc=0.7, recall=0.4)
    started = start_training(sagemaker, pipeline, GROUP, 0.05, "s3://data/raw/2026-11-27/")
    assert parameters_of(sagemaker, started.execution_arn) == {
        "ChampionFloorPrAuc": "0.650000",
        "ChampionFloorRecallAtPrecision": "0.350000",
        "InputDataUri": "s3://data/raw/2026-11-27/",
    }


def test_without_a_champion_the_floors_are_zero(sagemaker, pipeline) -> None:
    register_package(sagemaker, status="Rejected", pr_auc=0.9)
    started = start_training(sagemaker, pipeline, GROUP, 0.05)
    assert started.parameters == {
        "ChampionFloorPrAuc": "0.000000",
        "ChampionFloorRecallAtPrecision": "0.000000",
    }
