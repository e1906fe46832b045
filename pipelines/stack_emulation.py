"""A stack's registry-side resources in an AWS emulator, named as ``pulumi up`` names them.

Promotion reads and writes a stack's artifacts bucket, its KMS key (by alias),
its model package group and its image repository. Against moto those exist
only if someone creates them: this module does, for the demo and the tests,
with the names of ``stack_names.py``. Real stacks get them from ``pulumi up``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.emulator import ensure_bucket
from pipelines.stack_names import StackNames

if TYPE_CHECKING:
    from infra.config import StackConfig
    from pipelines.promote import PromotionClients


@dataclass(frozen=True)
class EmulatedStack:
    """What was made for one stack: names and the key's ARN."""

    names: StackNames
    account: str
    key_arn: str

    @property
    def artifacts_bucket(self) -> str:
        return self.names.artifacts_bucket(self.account)


def provision_stack(clients: PromotionClients, config: StackConfig) -> EmulatedStack:
    """Buckets, key and alias, model package group and image repository; idempotent."""
    from botocore.exceptions import ClientError

    names = StackNames(config)
    account = clients.sts.get_caller_identity()["Account"]
    for bucket in (names.artifacts_bucket(account), names.data_bucket(account)):
        ensure_bucket(clients.s3, bucket, config.region)
    try:
        key_arn = clients.kms.describe_key(KeyId=names.key_alias)["KeyMetadata"]["Arn"]
    except ClientError:
        key = clients.kms.create_key(Description=f"Encrypts the data of {config.resource_name()}")
        key_arn = key["KeyMetadata"]["Arn"]
        clients.kms.create_alias(AliasName=names.key_alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
    try:
        clients.sagemaker.describe_model_package_group(ModelPackageGroupName=names.model_group)
    except ClientError:
        clients.sagemaker.create_model_package_group(ModelPackageGroupName=names.model_group)
    try:
        clients.ecr.describe_repositories(repositoryNames=[names.image_repository])
    except ClientError:
        clients.ecr.create_repository(
            repositoryName=names.image_repository, imageTagMutability="IMMUTABLE"
        )
    return EmulatedStack(names, account, key_arn)
