"""What the release commands may do in this stack: one managed policy for the role running them.

The promotion workflow (``.github/workflows/promote.yml``) assumes one role for
every stack: on an approval it pins the package in its stack (``mlops deploy
--arn``: describe it) and registers it in the next stack (``mlops promote
--arn``: read the source's package, artifacts and image; write the copy's
objects under the target's key, its image and its package). Each stack's
program owns the part of that role's rights that concerns its own resources:
this policy, exported as ``releasePolicyArn``, attached to the role once per
stack (docs/deploying.md). It may register packages only with this stack's
registration status (``sagemaker:ModelApprovalStatus``), so it can never make
a package Approved; approving stays a person's act.

``sts:GetCallerIdentity`` needs no permission (STS API reference); pushing to and
pulling from a KMS-encrypted ECR repository needs no KMS right of the caller
(ECR uses its own grant on the key: "Encryption at rest", Amazon ECR User Guide).
Actions and resource types: the Service Authorization Reference, as parliament ships it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json
from infra.components.image import ProjectImage
from infra.components.registry import ModelRegistry
from infra.components.storage import StackStorage

COPIES_PREFIX = "promoted/"  # where promotion writes the copies (ops.release.artifact_copy)
IMAGE_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
]


@dataclass(frozen=True)
class ReleasePolicyArgs:
    """The resources of this stack that the release path reads and writes."""

    storage: StackStorage
    registry: ModelRegistry
    image: ProjectImage


class ReleasePolicy(pulumi.ComponentResource):
    """This stack's share of the release role's rights."""

    policy: aws.iam.Policy

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: ReleasePolicyArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:delivery:ReleasePolicy", name, None, opts)
        self.policy = aws.iam.Policy(
            context.name("release"),
            name=context.name("release"),
            description=(
                f"Release commands in {context.name()}: serve, promote out of and into it"
            ),
            policy=policy_json(self._statements(context, args)),
            tags=context.tags("delivery"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"releasePolicyArn": self.policy.arn})

    @staticmethod
    def _statements(context: StackContext, args: ReleasePolicyArgs) -> list[dict[str, object]]:
        registry, artifacts, key = args.registry, args.storage.artifacts, args.storage.key
        packages = [registry.group.arn, registry.packages_arn]
        via_s3 = f"s3.{context.region}.amazonaws.com"
        return [
            {
                "Sid": "ReadThisGroupsPackages",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                "Resource": packages,
            },
            {
                "Sid": "RegisterCopiesPendingThisStacksApproval",
                "Effect": "Allow",
                "Action": "sagemaker:CreateModelPackage",
                "Resource": packages,
                "Condition": {
                    "StringEquals": {
                        "sagemaker:ModelApprovalStatus": context.config.pipeline.approval_status
                    }
                },
            },
            {
                "Sid": "FindArtifacts",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": artifacts.arn,
            },
            {
                "Sid": "ReadArtifacts",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": pulumi.Output.concat(artifacts.arn, "/*"),
            },
            {
                "Sid": "WriteCopies",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": pulumi.Output.concat(artifacts.arn, f"/{COPIES_PREFIX}*"),
            },
            {
                "Sid": "FindTheStackKey",
                "Effect": "Allow",
                "Action": "kms:DescribeKey",
                "Resource": key.arn,
            },
            {
                "Sid": "UseTheStackKeyThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key.arn,
                "Condition": {"StringEquals": {"kms:ViaService": via_s3}},
            },
            {
                "Sid": "PullAndPushTheProjectImage",
                "Effect": "Allow",
                "Action": IMAGE_ACTIONS,
                "Resource": args.image.repository.arn,
            },
        ]
