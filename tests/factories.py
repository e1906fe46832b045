"""Test data builders: a training-pipeline spec with fixed names, a registered package."""

from __future__ import annotations

from typing import Any

from ml.model_artifact import TARBALL
from pipelines.definitions.training import Gates, TrainingPipelineSpec

GROUP = "mlops-dev-fraud-models"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-dev-image@sha256:" + "a" * 64


def make_spec(**changes: Any) -> TrainingPipelineSpec:
    values: dict[str, Any] = {
        "pipeline_name": "mlops-dev-training",
        "region": "us-east-1",
        "role_arn": "arn:aws:iam::123456789012:role/mlops-dev-execution",
        "data_bucket": "mlops-dev-data-123456789012-us-east-1",
        "artifacts_bucket": "mlops-dev-artifacts-123456789012-us-east-1",
        "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
        "image_uri": IMAGE,
        "model_package_group": GROUP,
        "feature_group_name": "mlops-dev-transactions-v1",
        "processing_instance_type": "ml.m5.large",
        "training_instance_type": "ml.m5.xlarge",
        "approval_status": "Approved",
        "cache_expiry": "P30D",
        "max_retry_attempts": 5,
        "gates": Gates(min_pr_auc=0.3, min_precision=0.3, min_recall=0.05),
    }
    values.update(changes)
    return TrainingPipelineSpec(**values)


def register_package(
    client: Any,
    group: str = GROUP,
    status: str = "PendingManualApproval",
    pr_auc: float = 0.6,
    recall: float = 0.3,
    model_data_url: str = f"s3://bucket/{TARBALL}",
    metrics_uri: str = "s3://bucket/evaluation.json",
    image: str | None = None,
) -> str:
    """A package as the pipeline registers it: image, model data, metrics, metadata."""
    created = client.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="test package",
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": image or IMAGE,
                    "ModelDataUrl": model_data_url,
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": metrics_uri,
                }
            }
        },
        CustomerMetadataProperties={
            "PrAuc": str(pr_auc),
            "RecallAtPrecision90": str(recall),
            "DataSha256": "d" * 64,
            "ImageUri": IMAGE,
        },
    )
    return created["ModelPackageArn"]
