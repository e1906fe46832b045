"""Starting the deployed pipeline passes no champion floors (the pipeline reads the champion),
only who started it and, if asked, the input prefix."""

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


def test_a_start_with_an_input_prefix_passes_only_that_prefix_and_its_kind(
    sagemaker, pipeline
) -> None:
    register_package(sagemaker, status="Approved", pr_auc=0.7, recall=0.4)
    started = start_training(sagemaker, pipeline, "s3://data/raw/2026-11-27/")
    assert parameters_of(sagemaker, started.execution_arn) == {
        "InputDataUri": "s3://data/raw/2026-11-27/",
        "RunKind": "manual",
    }


def test_a_plain_start_runs_on_the_definitions_defaults_but_says_who_started_it(
    sagemaker, pipeline
) -> None:
    started = start_training(sagemaker, pipeline)
    assert started.parameters == {"RunKind": "manual"}
    assert started.execution_arn.startswith("arn:aws:sagemaker:")


def test_every_run_kind_is_one_the_definition_allows(spec) -> None:
    from pipelines.lambdas.start_pipeline import RUN_KINDS

    declared = {p["Name"]: p for p in build_definition(spec)["Parameters"]}["RunKind"]
    assert declared["EnumValues"] == list(RUN_KINDS)
    assert declared["DefaultValue"] == "manual"
    with pytest.raises(ValueError, match="not one of scheduled, alarm, manual"):
        start_training(None, "p", kind="nightly")
