"""Promotion: what one stack serves becomes the pinned model of the next stack.

dev -> staging -> prod. The source is the package pinned in the source stack's
file (what that stack served and was tested with), never merely the newest
approved one. Its model artifact, metrics and any other object it names are
copied into the target stack's artifacts bucket under the target's key
(``artifact_copy.py``), because the target's execution role may read nothing
else; the copy is registered in the target's group with the target's approval
policy and lineage to the source (``PromotedFrom`` metadata, ``SourceUri``),
found again by that lineage on a repeated promotion, and its ARN is written to
``mlops:serving: modelPackageArn:`` in ``environments/Pulumi.<stack>.yaml``,
so what a stack serves is pinned in git and reviewed like any other change.
The stack file is edited through a YAML round trip (comments, key order and
layout stay), re-parsed to check that nothing but that one value changed, and
replaced atomically.

The project image (in the source stack's ECR repository, referenced by
digest) is copied into the target stack's repository under the same digest
(``image_copy.py``), since each stack's role pulls only from its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config import ConfigError, load_stack
from infra.config.atomic import write_atomically
from infra.config.stack_file import with_config_value
from infra.naming import StackNames
from ops.aws import aws_session
from ops.release.artifact_copy import PROMOTED_PREFIX, Destination, copied_fields, copy_uris
from ops.release.image_copy import LayerFetch, copy_image, parse_image_uri
from pipelines.registry import (
    APPROVED,
    Package,
    RegistryError,
    describe,
    list_packages,
    state_change,
)

STACK_ORDER = ("dev", "staging", "prod")
SERVING_KEY = "mlops:serving"
ARN_KEY = "modelPackageArn"
# Metadata of a copy: where it came from, and whether it was approved by policy, not a person.
PROMOTED_FROM = "PromotedFrom"
PROMOTED_FROM_STACK = "PromotedFromStack"
APPROVED_ON_REGISTRATION = "ApprovedOnRegistration"


class PromotionError(RegistryError):
    """A promotion that must not happen (nothing pinned, unapproved package, bad target)."""


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


def source_stack(target: str) -> str:
    """The stack whose pinned model feeds ``target``."""
    if target not in STACK_ORDER:
        raise PromotionError(f"unknown stack {target!r}; promote to one of staging, prod")
    index = STACK_ORDER.index(target)
    if index == 0:
        raise PromotionError(
            "dev is the first stack; nothing promotes into it "
            "(serve dev's own model with 'mlops deploy --stack dev')"
        )
    return STACK_ORDER[index - 1]


def group_of(stack: str, stack_file: Path | None = None) -> str:
    """The model package group of a stack, named as the registry component names it."""
    return StackNames(load_stack(stack, stack_file)).model_group


def pinned_arn(stack: str, stack_file: Path | None = None) -> str | None:
    """The ``mlops:serving.modelPackageArn`` a stack file pins, or None."""
    return load_stack(stack, stack_file).serving.model_package_arn


def pinned_source(client: Any, stack: str, stack_file: Path | None = None) -> Package:
    """The package a stack serves, which must be approved to be promoted."""
    from infra.config.stack_file import stack_file as path_of

    arn = pinned_arn(stack, stack_file)
    if arn is None:
        fix = (
            "'mlops deploy --stack dev'"
            if stack == STACK_ORDER[0]
            else f"'mlops promote --to {stack}'"
        )
        raise PromotionError(
            f"stack {stack} pins no model ({SERVING_KEY}.{ARN_KEY} in "
            f"{stack_file or path_of(stack)}); serve one there first with {fix}"
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
    """Promote the source stack's pinned model into ``target_stack`` and pin it; safe to repeat.

    ``stack_file`` is where the target's pinned file is written (default: its
    environments file; a path that does not exist yet starts as a copy of it).
    ``fetch`` reads image blobs (default: ECR's download URLs).
    """
    from infra.config.stack_file import stack_file as path_of

    origin = source_stack(target_stack)
    path = stack_file or path_of(target_stack)
    source = pinned_source(clients.sagemaker, origin, source_stack_file)
    target = StackNames(load_stack(target_stack, path if path.is_file() else None))
    names = StackNames(load_stack(origin, source_stack_file))
    copy, created = copy_into(clients, source, target, names, fetch)
    changed = pin_model_package(path, copy.arn, template=path_of(target_stack))
    return Promotion(source, copy, target_stack, path, created, changed)


def promote_on_event(
    clients: PromotionClients,
    event: dict[str, Any],
    stack_files: dict[str, Path] | None = None,
    fetch: LayerFetch | None = None,
) -> Promotion | None:
    """The CD hook: approving the model a stack serves promotes it to the next stack.

    Ignored (None): other statuses, groups of no promoting stack, a package the
    source stack does not pin, and a promotion copy approved by its stack's
    registration policy rather than by a person, so no approval cascades
    through stacks on its own. Duplicate deliveries find the same copy and the
    same pinned ARN, so they change nothing.
    """
    group, arn, status = state_change(event)
    if status != APPROVED:
        return None
    files = stack_files or {}
    for stack in STACK_ORDER[:-1]:
        if group_of(stack, files.get(stack)) != group:
            continue
        if pinned_arn(stack, files.get(stack)) != arn:
            return None
        package = describe(clients.sagemaker, arn)
        if package.metadata.get(APPROVED_ON_REGISTRATION) == "true":
            return None
        target = STACK_ORDER[STACK_ORDER.index(stack) + 1]
        return promote(clients, target, files.get(target), files.get(stack), fetch)
    return None


def pin_model_package(path: Path, arn: str, template: Path | None = None) -> bool:
    """Write ``arn`` as ``mlops:serving: modelPackageArn:``; False when it was already there.

    A ``path`` that does not exist starts as a copy of ``template`` (the stack's own file).
    The file is replaced atomically, and only when nothing but that one value changed.
    """
    source = path if path.is_file() else template
    if source is None or not source.is_file():
        raise PromotionError(f"stack file {path} not found; create it before pinning")
    text = source.read_text(encoding="utf-8")
    try:
        updated = set_model_package_arn(text, arn)
    except ConfigError as error:
        raise PromotionError(f"{source}: {error}") from None
    if updated == text and source == path:
        return False
    before, after = yaml.safe_load(text) or {}, yaml.safe_load(updated)
    if after != _with_arn(before, arn):
        raise PromotionError(f"{path}: could not pin the model package without other changes")
    write_atomically(path, updated)
    return True


def _with_arn(document: dict[str, Any], arn: str) -> dict[str, Any]:
    config = dict(document.get("config") or {})
    serving = dict(config.get(SERVING_KEY) or {})
    serving[ARN_KEY] = arn
    config[SERVING_KEY] = serving
    return {**document, "config": config}


def set_model_package_arn(text: str, arn: str) -> str:
    """The stack file's text with the serving ARN set: replaced, inserted or a new section.

    A round trip through ruamel.yaml: comments, key order and layout stay.
    """
    return with_config_value(text, SERVING_KEY, [ARN_KEY], arn)
