"""The project image: an ECR repository of this stack, and the build and push of ml/Dockerfile.

Every processing job, training job, registered model and Kubernetes Deployment
runs the one image, referenced by digest (``<repository url>@sha256:...``), so
what runs is exactly what was built and scanned. The tag is the build
context's content hash (``infra.image_context``): tags are immutable, and a
new tag appears exactly when the code or the pinned requirements change.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from infra.components.context import StackContext
from infra.components.iam import PlatformRoles
from infra.components.storage import StackStorage
from infra.image_context import DOCKERFILE, REPO_ROOT, context_sha256, image_tag

# SageMaker runs x86_64 instances for the instance types the stack allows (ml.m5, ml.c5, ...).
PLATFORM = docker_build.Platform.LINUX_AMD64
UNTAGGED_EXPIRY_DAYS = 1
# Old images stay pullable for the model packages that name them (registry and endpoints).
KEEP_IMAGES = 50


def lifecycle_policy(keep: int = KEEP_IMAGES, untagged_days: int = UNTAGGED_EXPIRY_DAYS) -> str:
    """ECR lifecycle rules: drop untagged layers quickly, keep the newest ``keep`` images.

    https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
    (a rule with ``tagStatus: any`` must have the highest ``rulePriority``).
    """
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {untagged_days} day(s)",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the newest {keep} images",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep,
                    },
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class ProjectImageArgs:
    """The key the repository is encrypted with, and the roles that pull grants attach to.

    Pull grants are children of ``roles``, like the roles' other policies, so
    whatever waits for the roles (an endpoint) waits for the pull grants too.
    """

    storage: StackStorage
    roles: PlatformRoles


class ProjectImage(pulumi.ComponentResource):
    """The stack's image repository and the image every job and endpoint runs."""

    repository: aws.ecr.Repository
    lifecycle: aws.ecr.LifecyclePolicy
    image: docker_build.Image
    image_uri: pulumi.Output[str]
    context_sha256: str

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: ProjectImageArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:image:ProjectImage", name, None, opts)
        self._roles = args.roles
        self.repository_name = context.names.image_repository
        self.repository = aws.ecr.Repository(
            self.repository_name,
            name=self.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.storage.key.arn}],
            force_delete=context.config.storage.force_destroy,
            tags=context.tags("image"),
            opts=context.stateful(self),
        )
        self.lifecycle = aws.ecr.LifecyclePolicy(
            context.name("image-lifecycle"),
            repository=self.repository.name,
            policy=lifecycle_policy(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.context_sha256 = context_sha256()
        self.image = self._build(context)
        self.image_uri = pulumi.Output.concat(
            self.repository.repository_url, "@", self.image.digest
        )
        self.register_outputs(
            {
                "repositoryUrl": self.repository.repository_url,
                "imageUri": self.image_uri,
                "contextSha256": self.context_sha256,
            }
        )

    def _build(self, context: StackContext) -> docker_build.Image:
        """Build ml/Dockerfile for SageMaker's platform, tag it with the context hash, push it."""
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        # Paths relative to where the program runs, so the inputs (and the state) are the
        # same on every machine that deploys the stack: a changed input means a rebuild.
        root = Path(os.path.relpath(REPO_ROOT, Path.cwd()))
        return docker_build.Image(
            context.name("image"),
            context={"location": root.as_posix()},
            dockerfile={"location": (root / DOCKERFILE).as_posix()},
            platforms=[PLATFORM],
            push=True,
            tags=[
                pulumi.Output.concat(
                    self.repository.repository_url, ":", image_tag(self.context_sha256)
                )
            ],
            registries=[
                {
                    "address": self.repository.repository_url,
                    "username": token.user_name,
                    "password": token.password,
                }
            ],
            labels={
                "org.opencontainers.image.title": self.repository_name,
                "mlops.context-sha256": self.context_sha256,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.lifecycle]),
        )

    def grant_pull(self, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let ``role`` pull from this repository only (and get the registry token ECR needs)."""
        return self._roles.add_policy(
            role,
            "image-pull",
            [
                {
                    "Sid": "PullTheProjectImage",
                    "Effect": "Allow",
                    "Action": [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    "Resource": self.repository.arn,
                },
                {
                    # GetAuthorizationToken has no resource-level permissions.
                    "Sid": "AuthenticateToEcr",
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                },
            ],
        )
