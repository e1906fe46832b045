"""Promotion: an approved model of one stack becomes a candidate in the next stack's registry.

dev -> staging -> prod. The source is an Approved package of the source stack:
the one an approval event names (``promote_package``), or the one the source
stack's file pins (``promote``: what that stack served and was tested with),
never merely the newest approved one. Its model artifact, metrics and any other
object it names are copied into the target stack's artifacts bucket under the
target's key (``artifact_copy.py``), because the target's execution role may
read nothing else; the project image (in the source stack's ECR repository,
referenced by digest) is copied into the target's repository under the same
digest (``image_copy.py``). The copy is registered in the target's group with
the target's approval policy (``PendingManualApproval`` in staging and prod)
and lineage to the source (``PromotedFrom`` metadata, ``SourceUri``), and found
again by that lineage on a repeated promotion. A copy is pinned in the target's
stack file only once it is Approved: a person's approval of it is what serves
it there (its approval event pins it, as any approval does: ``deploy.py``).
The registry check and the registration run under the lock of the target's
stack file folder, so two promotions of one package register one copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.naming import StackNames
from ops.aws import aws_session
from ops.release.artifact_copy import PROMOTED_PREFIX, Destination, copied_fields, copy_uris
from ops.release.deploy import approved_package
from ops.release.image_copy import LayerFetch, copy_image, parse_image_uri
from ops.release.pinning import pin_model_package
from ops.release.stack_lock import stack_file_lock
from ops.release.stacks import (
    ARN_KEY,
    SERVING_KEY,
    STACK_ORDER,
    PromotionError,
    group_of,
    next_stack,
    pinned_arn,
    source_stack,
    stack_config,
    stack_of_package,
    stack_path,
)
from pipelines.registry import (
    APPROVED,
    Package,
    describe,
    list_packages,
)

# Metadata of a copy: where it came from, and whether it was approved by policy, not a person.
PROMOTED_FROM = "PromotedFrom"
PROMOTED_FROM_STACK = "PromotedFromStack"
APPROVED_ON_REGISTRATION = "ApprovedOnRegistration"


@dataclass(frozen=True)
class PromotionClients:
    """The AWS clients a promotion uses, all in one account and region."""

    sagemaker: Any
    s3: Any
    kms: Any
    sts: Any
    ecr: Any


def promotion_clients(
    region: str | None = None, endpoint_url: str | None = None
) -> PromotionClients:
    """Clients from the default chain (``AWS_ENDPOINT_URL`` or ``endpoint_url`` for an emulator)."""
    import os

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    session = aws_session(region, endpoint)
    return PromotionClients(
        *(
            session.client(name, endpoint_url=endpoint)
            for name in ("sagemaker", "s3", "kms", "sts", "ecr")
        )
    )


@dataclass(frozen=True)
class Promotion:
    """What a promotion did: source, target package, and whether anything was new."""

    source: Package
    target: Package
    stack: str
    stack_file: Path
    created: bool
    file_changed: bool


def pinned_source(client: Any, stack: str, stack_file: Path | None = None) -> Package:
    """The package a stack serves, which must be approved to be promoted."""
    arn = pinned_arn(stack, stack_file)
    if arn is None:
        fix = f"'mlops deploy --stack {stack}'" + ("" if stack == STACK_ORDER[0] else " --arn ARN")
        raise PromotionError(
            f"stack {stack} pins no model ({SERVING_KEY}.{ARN_KEY} in "
            f"{stack_path(stack, stack_file)}); serve one there first with {fix}"
        )
    package = describe(client, arn)
    if package.status != APPROVED:
        reason = f" ({package.approval_description})" if package.approval_description else ""
        raise PromotionError(
            f"model package {arn} pinned in {stack} is {package.status}{reason}; only approved "
            f"packages are promoted (approve it with 'mlops registry approve {arn} --reason ...')"
        )
    return package


def destination(
    clients: PromotionClients, target: StackNames, source: Package, origin: str
) -> Destination:
    """The target's artifacts bucket and key ARN; a target not yet deployed is a clear error."""
    from botocore.exceptions import ClientError

    account = clients.sts.get_caller_identity()["Account"]
    bucket = target.artifacts_bucket(account)
    stack = target.config.environment.value
    try:
        key_arn = clients.kms.describe_key(KeyId=target.key_alias)["KeyMetadata"]["Arn"]
    except ClientError as error:
        if _code(error) != "NotFoundException":
            raise
        raise PromotionError(
            f"key {target.key_alias} of stack {stack} not found; run 'pulumi up' for {stack} first"
        ) from None
    try:
        clients.s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if _code(error) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        raise PromotionError(
            f"artifacts bucket {bucket} of stack {stack} not found; "
            f"run 'pulumi up' for {stack} first"
        ) from None
    return Destination(bucket, key_arn, f"{PROMOTED_PREFIX}/{origin}/{source.version}/")


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def find_copy(client: Any, group: str, source_arn: str) -> Package | None:
    """The copy of ``source_arn`` in ``group``, found by its lineage."""
    for existing in list_packages(client, group):
        if existing.metadata.get(PROMOTED_FROM) == source_arn:
            return existing
    return None


def copy_images(
    clients: PromotionClients,
    fields: dict[str, Any],
    origin: StackNames,
    target: StackNames,
    fetch: LayerFetch | None = None,
) -> dict[str, Any]:
    """``fields`` with each container image of the source stack's repository copied to the target's.

    Other images (another registry, a tag) are left as they are: they are not the stack's to copy.
    """
    specification = fields.get("InferenceSpecification") or {}
    containers = []
    for container in specification.get("Containers", []):
        image = parse_image_uri(container.get("Image", ""))
        if image is not None and image.repository == origin.image_repository:
            copied = copy_image(clients.ecr, image, target.image_repository, fetch)
            container = {**container, "Image": copied.uri}
        containers.append(container)
    if not containers:
        return fields
    return {**fields, "InferenceSpecification": {**specification, "Containers": containers}}


def copy_into(
    clients: PromotionClients,
    source: Package,
    target: StackNames,
    origin: StackNames,
    fetch: LayerFetch | None = None,
) -> tuple[Package, bool]:
    """The source's copy in the target's group: found if it exists, registered if not."""
    existing = find_copy(clients.sagemaker, target.model_group, source.arn)
    if existing is not None:
        return existing, False
    origin_stack = origin.config.environment.value
    where = destination(clients, target, source, origin_stack)
    described = clients.sagemaker.describe_model_package(ModelPackageName=source.arn)
    fields = copied_fields(described, lambda uris: copy_uris(clients.s3, uris, where))
    fields = copy_images(clients, fields, origin, target, fetch)
    status = target.config.pipeline.approval_status
    metadata = {**source.metadata, PROMOTED_FROM: source.arn, PROMOTED_FROM_STACK: origin_stack}
    if status == APPROVED:
        metadata[APPROVED_ON_REGISTRATION] = "true"
    created = clients.sagemaker.create_model_package(
        ModelPackageGroupName=target.model_group,
        ModelPackageDescription=f"Promoted from {source.arn} (served by {origin_stack})",
        SourceUri=source.arn,
        ModelApprovalStatus=status,
        CustomerMetadataProperties=metadata,
        **fields,
    )
    return describe(clients.sagemaker, created["ModelPackageArn"]), True


def promote(
    clients: PromotionClients,
    target_stack: str,
    stack_file: Path | None = None,
    source_stack_file: Path | None = None,
    fetch: LayerFetch | None = None,
) -> Promotion:
    """Promote the package the source stack pins into ``target_stack``; safe to repeat.

    ``stack_file`` is where the target's pinned file is written (default: its
    environments file; a path that does not exist yet starts as a copy of it).
    ``fetch`` reads image blobs (default: ECR's download URLs).
    """
    origin = source_stack(target_stack)
    source = pinned_source(clients.sagemaker, origin, source_stack_file)
    return _promote(clients, source, origin, target_stack, stack_file, source_stack_file, fetch)


@dataclass(frozen=True)
class NotPromoted:
    """Why an approved package goes no further (the last stack, or approved by policy)."""

    package: Package
    reason: str


def promote_package(
    clients: PromotionClients,
    arn: str,
    stack_files: dict[str, Path] | None = None,
    fetch: LayerFetch | None = None,
) -> Promotion | NotPromoted:
    """Register the approved package ``arn`` in the stack after its own; safe to repeat.

    Not promoted: a package of the last stack, and a promotion copy that its
    stack's registration policy approved rather than a person, so that no
    approval cascades through the stacks on its own.
    """
    files = stack_files or {}
    origin = stack_of_package(arn, files)
    package = approved_package(clients.sagemaker, arn, origin, group_of(origin, files.get(origin)))
    target = next_stack(origin)
    if target is None:
        return NotPromoted(package, f"{origin} is the last stack: nothing to promote {arn} to")
    if package.metadata.get(APPROVED_ON_REGISTRATION) == "true":
        return NotPromoted(
            package,
            f"{arn} was approved by {origin}'s registration policy, not by a person: "
            "not promoted further",
        )
    return _promote(clients, package, origin, target, files.get(target), files.get(origin), fetch)


def _promote(
    clients: PromotionClients,
    source: Package,
    origin: str,
    target_stack: str,
    stack_file: Path | None,
    origin_file: Path | None,
    fetch: LayerFetch | None,
) -> Promotion:
    """Find or register the copy, under the target folder's lock; pin it if it is Approved."""
    path = stack_path(target_stack, stack_file)
    with stack_file_lock(path):
        target = StackNames(stack_config(target_stack, path))
        names = StackNames(stack_config(origin, origin_file))
        copy, created = copy_into(clients, source, target, names, fetch)
        changed = copy.status == APPROVED and pin_model_package(
            path, copy.arn, template=stack_path(target_stack)
        )
    return Promotion(source, copy, target_stack, path, created, changed)
