"""Sessions of the operator commands: real AWS, or an emulator's endpoint with test credentials."""

from __future__ import annotations

import os
from typing import Any

from ml.errors import MlopsError
from ops.local.emulator import FAKE_CREDENTIALS


def aws_session(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 session; with an emulator endpoint and no configured credentials, test ones.

    An emulator accepts any credentials; real AWS without credentials is a clear error.
    """
    import boto3

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    session = boto3.session.Session(
        region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    if session.get_credentials() is None:
        if endpoint is None:
            raise MlopsError(
                "no AWS credentials found; configure them, or use an emulator: "
                'eval "$(mlops emulator start)" (or --endpoint-url URL)'
            )
        session = boto3.session.Session(
            region_name=session.region_name,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
    return session


def sagemaker_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A SageMaker client; ``AWS_ENDPOINT_URL`` (or ``endpoint_url``) points it at an emulator."""
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    return aws_session(region, endpoint).client("sagemaker", endpoint_url=endpoint)
