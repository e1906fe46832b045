"""Shared test settings: no test reaches AWS or the internet."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Any boto3 client a test forgets to mock fails fast instead of calling AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SECURITY_TOKEN", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")


@pytest.fixture
def sagemaker() -> Iterator[Any]:
    """A moto SageMaker client with the dev and staging groups created."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("sagemaker", region_name="us-east-1")
        for group in (
            "mlops-dev-fraud-models",
            "mlops-staging-fraud-models",
            "mlops-prod-fraud-models",
        ):
            client.create_model_package_group(ModelPackageGroupName=group)
        yield client


@pytest.fixture
def spec() -> Any:
    """The dev training pipeline's spec with fixed names (``tests.factories.make_spec``)."""
    from tests.factories import make_spec

    return make_spec()
