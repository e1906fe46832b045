"""The pure builder writes what the SageMaker SDK v3 writes for the same pipeline."""

from __future__ import annotations

import json

import pytest

from pipelines.definitions.training import build_definition, definition_json
from tests.factories import make_spec

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]


@pytest.fixture(scope="module")
def sdk_json() -> str:
    import boto3
    from moto import mock_aws

    from tests.pipelines.definitions.sdk_definition import SDK_BUCKET, sdk_definition

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=SDK_BUCKET)
        return sdk_definition(make_spec())


def test_sdk_serialises_the_same_definition(sdk_json) -> None:
    assert json.loads(sdk_json) == build_definition(make_spec())


def test_sdk_step_order_and_types_match(sdk_json) -> None:
    sdk_steps = [(s["Name"], s["Type"]) for s in json.loads(sdk_json)["Steps"]]
    ours = [(s["Name"], s["Type"]) for s in json.loads(definition_json(make_spec()))["Steps"]]
    assert sdk_steps == ours
