"""Packages and events as the pipeline and SageMaker make them, for the release tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from ml.model_artifact import TARBALL
from ops.release.promote import PromotionClients, promote
from tests.factories import GROUP, IMAGE, register_package

STAGING = "mlops-staging-fraud-models"
PROD = "mlops-prod-fraud-models"
DEV_ARTIFACTS = "mlops-dev-artifacts-123456789012-us-east-1"
STAGING_ARTIFACTS = "mlops-staging-artifacts-123456789012-us-east-1"
MODEL_KEY = f"pipeline-runs/local-1/train/output/{TARBALL}"
METRICS_KEY = "pipeline-runs/local-1/evaluate/metrics/evaluation.json"
IMAGE_DIGEST = IMAGE.split("@", 1)[1]


def dev_package(
    clients: PromotionClients,
    status: str = "Approved",
    run: str = "local-1",
    image: str | None = None,
) -> str:
    """A dev package as the pipeline registers it, its model and metrics in dev's bucket."""
    model_key, metrics_key = MODEL_KEY.replace("local-1", run), METRICS_KEY.replace("local-1", run)
    clients.s3.put_object(Bucket=DEV_ARTIFACTS, Key=model_key, Body=b"model bytes " + run.encode())
    clients.s3.put_object(
        Bucket=DEV_ARTIFACTS,
        Key=metrics_key,
        Body=b'{"pr_auc": 0.6}',
        ContentType="application/json",
    )
    return register_package(
        clients.sagemaker,
        status=status,
        model_data_url=f"s3://{DEV_ARTIFACTS}/{model_key}",
        metrics_uri=f"s3://{DEV_ARTIFACTS}/{metrics_key}",
        image=image,
    )


def pinned(path: Path) -> str:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["config"]["mlops:serving"][
        "modelPackageArn"
    ]


def event(arn: str, status: str = "Approved", group: str = GROUP) -> dict:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
        },
    }


def to_staging(clients: PromotionClients, files: dict[str, Path]):
    return promote(clients, "staging", files["staging"], files["dev"])
