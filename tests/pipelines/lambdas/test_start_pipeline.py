"""Starting the deployed pipeline passes no champion floors: the pipeline reads the champion."""

from __future__ import annotations

import json

import pytest

from pipelines.definitions.training import build_definition
from pipelines.lambdas.start_pipeline import start_training
from tests.factories import make_spec, register_package


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


def test_a_start_with_an_input_prefix_passes_only_that_prefix(sagemaker, pipeline) -> None:
    register_package(sagemaker, status="Approved", pr_auc=0.7, recall=0.4)
    started = start_training(sagemaker, pipeline, "s3://data/raw/2026-11-27/")
    assert parameters_of(sagemaker, started.execution_arn) == {
        "InputDataUri": "s3://data/raw/2026-11-27/"
    }


def test_a_plain_start_runs_on_the_definitions_defaults(sagemaker, pipeline) -> None:
    started = start_training(sagemaker, pipeline)
    assert started.parameters == {}
    assert started.execution_arn.startswith("arn:aws:sagemaker:")
