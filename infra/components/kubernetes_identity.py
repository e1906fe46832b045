"""The model-server pods' AWS identity: a role that EKS Pod Identity gives their service account.

The role reads the served artifacts and nothing else: ``s3:GetObject`` on the
pinned packages' ``model.tar.gz`` objects and ``kms:Decrypt`` on the stack key
through S3. Its trust policy is EKS Pod Identity's, narrowed to this account,
cluster, namespace and service account by the session tags EKS sets.
https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json
from infra.components.served_model import ServedModel
from infra.components.storage import StackStorage

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
ROLE_PURPOSE = "model-server"


@dataclass(frozen=True)
class PodIdentity:
    """The role, its read grant, and the association that binds it to the service account."""

    role: aws.iam.Role
    grant: aws.iam.RolePolicy
    association: aws.eks.PodIdentityAssociation


def pod_identity_trust(
    context: StackContext, cluster: str, namespace: str, service_account: str
) -> pulumi.Output[str]:
    """EKS Pod Identity may assume the role for this one service account, and nobody else."""
    return policy_json(
        [
            {
                "Sid": "EksPodIdentityForTheModelServer",
                "Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": context.account_id,
                        "aws:RequestTag/eks-cluster-name": cluster,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": service_account,
                    }
                },
            }
        ]
    )


def create_pod_identity(
    context: StackContext,
    storage: StackStorage,
    models: list[ServedModel],
    service_account: str,
    parent: pulumi.Resource,
) -> PodIdentity:
    """The role, a grant to read exactly the served artifacts, and the Pod Identity association."""
    settings = context.config.kubernetes
    cluster = settings.cluster_name or context.name()
    name = context.name(ROLE_PURPOSE)
    role = aws.iam.Role(
        name,
        name=name,
        description="The Kubernetes model server's pods: read the served model artifacts",
        assume_role_policy=pod_identity_trust(
            context, cluster, settings.namespace, service_account
        ),
        max_session_duration=3600,
        tags=context.tags("kubernetes"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    grant = storage.grant_read_objects(
        role,
        storage.artifacts,
        [model.artifact_key for model in models],
        "served-model-artifacts",
    )
    association = aws.eks.PodIdentityAssociation(
        context.name("k8s", "pod-identity"),
        cluster_name=cluster,
        namespace=settings.namespace,
        service_account=service_account,
        role_arn=role.arn,
        tags=context.tags("kubernetes"),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[grant]),
    )
    return PodIdentity(role, grant, association)
