"""A stack's registry-side resources in an AWS emulator, named as ``pulumi up`` names them.

Promotion reads and writes a stack's artifacts bucket, its KMS key (by alias),
its model package group and its image repository. Against moto those exist
only if someone creates them: this module does, for the demo and the tests,
with the names ``infra.naming`` gives the program's resources, and pushes small
images as a build would.
Real stacks get them from ``pulumi up``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.naming import StackNames
from ops.local.emulator import ensure_bucket
from ops.release.image_copy import ImageRef

if TYPE_CHECKING:
    from infra.config import StackConfig
    from ops.release.promote import PromotionClients


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


DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass(frozen=True)
class PushedImage:
    """An image pushed into the emulator, with its blobs (moto keeps none to download)."""

    ref: ImageRef
    blobs: dict[str, bytes]

    def fetch(self, repository: str, digest: str) -> bytes:
        """A ``LayerFetch`` serving this image's blobs, standing in for ECR's download URLs."""
        return self.blobs[digest]


def push_image(
    ecr: Any, repository: str, layers: list[bytes], digest: str | None = None
) -> PushedImage:
    """Push a small image (a config and ``layers``) as ``docker push`` would, by the ECR API.

    ``digest`` names it by another digest than its manifest's (an emulator does
    not check): the demo stands in for an image the local run only referenced.
    """
    from ops.release.image_copy import upload_blob

    account = ecr.describe_registry()["registryId"]
    region = ecr.meta.region_name
    config = json.dumps({"architecture": "amd64", "os": "linux", "layers": len(layers)}).encode()
    blobs = {upload_blob(ecr, repository, data): data for data in (config, *layers)}
    digests = list(blobs)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": _descriptor(
                digests[0], config, "application/vnd.docker.container.image.v1+json"
            ),
            "layers": [
                _descriptor(d, blobs[d], "application/vnd.docker.image.rootfs.diff.tar.gzip")
                for d in digests[1:]
            ],
        }
    )
    digest = digest or "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    ecr.put_image(
        repositoryName=repository,
        imageManifest=manifest,
        imageManifestMediaType=DOCKER_MANIFEST,
        imageDigest=digest,
    )
    return PushedImage(ImageRef(account, region, repository, digest), blobs)


def _descriptor(digest: str, data: bytes, media_type: str) -> dict[str, Any]:
    return {"mediaType": media_type, "size": len(data), "digest": digest}
