"""Model packages offline: what the program's Cloud Control read of a pinned package returns.

The registry is not reachable offline. A caller that knows the package (a
test that registered it in an emulator) passes its description; otherwise the
plan uses a stand-in, a package this stack's own pipeline would register:
approved, this stack's image by the offline digest, an artifact under the
artifacts bucket's ``pipeline-runs/``, and says so (``Plan.notes``).
Properties follow DescribeModelPackage (``AWS::SageMaker::ModelPackage``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from infra.image_context import context_sha256, repository_url
from infra.naming import StackNames
from ml.model_artifact import TARBALL

if TYPE_CHECKING:
    from infra.config import StackConfig

CLOUD_CONTROL_INVOKE = "aws:cloudcontrol/getResource:getResource"
MODEL_PACKAGE_TYPE = "AWS::SageMaker::ModelPackage"
STAND_IN_EXECUTION = "offline"
# The package fields the platform reads (DescribeModelPackage names).
DESCRIBED_FIELDS = (
    "ModelPackageArn",
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelApprovalStatus",
    "InferenceSpecification",
    "CustomerMetadataProperties",
)


def described_properties(description: Mapping[str, Any]) -> dict[str, Any]:
    """The Cloud Control properties of a package, from a DescribeModelPackage answer."""
    return {key: description[key] for key in DESCRIBED_FIELDS if key in description}


def stand_in_package(arn: str, config: StackConfig, account: str) -> dict[str, Any]:
    """A package as this stack's pipeline registers one (approved, its image and bucket)."""
    names = StackNames(config)
    image = repository_url(account, config.region, names.image_repository)
    execution = f"{STAND_IN_EXECUTION}-v{arn.rsplit('/', 1)[-1]}"
    artifact = (
        f"s3://{names.artifacts_bucket(account)}/pipeline-runs/{execution}"
        f"/train/pipelines-{execution}-Train/output/{TARBALL}"
    )
    return {
        "ModelPackageArn": arn,
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [
                {"Image": f"{image}@sha256:{context_sha256()}", "ModelDataUrl": artifact}
            ]
        },
        "CustomerMetadataProperties": {},
    }


def cloud_control_answer(
    inputs: Mapping[str, Any],
    known: Mapping[str, Mapping[str, Any]],
    config: StackConfig,
    account: str,
) -> tuple[dict[str, Any], str | None]:
    """The invoke's result, and the note to show when it is a stand-in (else None)."""
    type_name, identifier = inputs.get("typeName"), str(inputs.get("identifier"))
    if type_name != MODEL_PACKAGE_TYPE:
        raise NotImplementedError(f"the offline plan reads no {type_name} through Cloud Control")
    note = None
    if identifier in known:
        properties = described_properties(known[identifier])
    else:
        properties = stand_in_package(identifier, config, account)
        container = properties["InferenceSpecification"]["Containers"][0]
        note = (
            f"model package {identifier} cannot be read offline; the plan serves a stand-in "
            f"artifact {container['ModelDataUrl']} with image {container['Image']}"
        )
    answer = {
        "id": identifier,
        "identifier": identifier,
        "typeName": type_name,
        "properties": json.dumps(properties, default=str),
    }
    return answer, note
