"""The model package a stack serves, read as SageMaker reads it: image, artifact and digest.

A stack pins a package ARN (``serving.modelPackageArn``); SageMaker resolves
it at CreateModel to the package's image and ``ModelDataUrl``. The Kubernetes
target serves the same model, so the program reads the same package at
deploy time through Cloud Control (``AWS::SageMaker::ModelPackage``, whose
properties are DescribeModelPackage's), and the pods get exactly that
artifact, that image by digest, and a role that reads that one object.
The offline plan answers the read with a stand-in and says so.

https://docs.aws.amazon.com/cloudcontrolapi/latest/userguide/supported-resources.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-modelpackage.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import NAMESPACE, ConfigError

CLOUD_CONTROL_TYPE = "AWS::SageMaker::ModelPackage"
APPROVED = "Approved"
DIGEST_MARK = "@sha256:"


@dataclass(frozen=True)
class ServedModel:
    """One pinned package: the image by digest, the artifact and its recorded sha256."""

    package_arn: str
    image: pulumi.Output[str]
    model_data_url: pulumi.Output[str]
    artifact_key: pulumi.Output[str]
    sha256: pulumi.Output[str]  # "" when the registry recorded none


def pinned_image(container: dict[str, Any]) -> str | None:
    """``repository@sha256:...`` of a package container: its Image, or Image with ImageDigest."""
    image = str(container.get("Image") or "")
    if DIGEST_MARK in image:
        return image
    digest = container.get("ImageDigest")
    if not image or not isinstance(digest, str) or not digest.startswith("sha256:"):
        return None
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repository}@{digest}"


def served_facts(key: str, arn: str, properties: dict[str, Any], bucket: str) -> dict[str, str]:
    """What the pods need from a package, or one line on why it cannot be served from here."""
    where = f"invalid config {NAMESPACE}:{key} = {arn!r}"
    status = properties.get("ModelApprovalStatus")
    if status != APPROVED:
        raise ConfigError(f"{where}: the package is {status}; only approved packages are served")
    containers = (properties.get("InferenceSpecification") or {}).get("Containers") or [{}]
    url = str(containers[0].get("ModelDataUrl") or "")
    prefix = f"s3://{bucket}/"
    if not url.startswith(prefix) or url == prefix:
        raise ConfigError(
            f"{where}: its artifact {url or '(none)'} is not in this stack's bucket {bucket}; "
            "promote the package into this stack (mlops promote) so its pods may read it"
        )
    image = pinned_image(containers[0])
    if image is None:
        raise ConfigError(f"{where}: its image is not pinned by digest; re-register it")
    metadata = properties.get("CustomerMetadataProperties") or {}
    return {
        "image": image,
        "url": url,
        "key": url.removeprefix(prefix),
        "sha256": str(metadata.get("ModelSha256") or ""),
    }


def describe_served_model(
    key: str, package_arn: str, artifacts_bucket: pulumi.Output[str]
) -> ServedModel:
    """Read the pinned package at deploy time; ``key`` is the config key that pins it."""
    described = aws.cloudcontrol.get_resource_output(
        type_name=CLOUD_CONTROL_TYPE, identifier=package_arn
    )
    facts = pulumi.Output.all(described.properties, artifacts_bucket).apply(
        lambda values: served_facts(key, package_arn, json.loads(values[0]), values[1])
    )
    return ServedModel(
        package_arn=package_arn,
        image=facts.apply(lambda f: f["image"]),
        model_data_url=facts.apply(lambda f: f["url"]),
        artifact_key=facts.apply(lambda f: f["key"]),
        sha256=facts.apply(lambda f: f["sha256"]),
    )
