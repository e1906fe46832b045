"""Model registry operations: list, find the champion, approve or reject with a reason.

Every operation is idempotent: approving an approved package changes nothing,
and registry events (delivered at least once) can be replayed safely. Custom
metadata is always written back in full, because an update without it drops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml.errors import MlopsError

APPROVED = "Approved"
REJECTED = "Rejected"
PENDING = "PendingManualApproval"
STATUSES = (APPROVED, REJECTED, PENDING)


class RegistryError(MlopsError):
    """A registry request that cannot be served as asked (unknown package, bad status)."""


@dataclass(frozen=True)
class Package:
    """What the platform reads from a model package."""

    arn: str
    group: str
    version: int
    status: str
    description: str = ""
    approval_description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    metrics_uri: str | None = None
    model_data_url: str | None = None
    inference_specification: dict[str, Any] = field(default_factory=dict)
    model_metrics: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> float | None:
        """A headline metric recorded in the metadata (``PrAuc``, ``RecallAtPrecision90``)."""
        value = self.metadata.get(name)
        return float(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Change:
    """The outcome of an idempotent update: the package after it, and whether anything changed."""

    package: Package
    changed: bool


def describe(client: Any, arn: str) -> Package:
    """One package by ARN; an unknown ARN is a clear error."""
    from botocore.exceptions import ClientError

    try:
        found = client.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        raise RegistryError(f"model package {arn} not found: {_message(error)}") from None
    return _package(found)


def _message(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Message") or error)


def _package(found: dict[str, Any]) -> Package:
    containers = found.get("InferenceSpecification", {}).get("Containers") or [{}]
    statistics = found.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    return Package(
        arn=found["ModelPackageArn"],
        group=found.get("ModelPackageGroupName", ""),
        version=int(found.get("ModelPackageVersion") or 0),
        status=found.get("ModelApprovalStatus", PENDING),
        description=found.get("ModelPackageDescription") or "",
        approval_description=found.get("ApprovalDescription") or "",
        metadata=dict(found.get("CustomerMetadataProperties") or {}),
        metrics_uri=statistics.get("S3Uri"),
        model_data_url=containers[0].get("ModelDataUrl"),
        inference_specification=found.get("InferenceSpecification") or {},
        model_metrics=found.get("ModelMetrics") or {},
    )


def list_packages(client: Any, group: str, status: str | None = None) -> list[Package]:
    """Packages of a group, newest version first (optionally only one approval status)."""
    if status is not None and status not in STATUSES:
        raise RegistryError(f"unknown approval status {status!r}; use one of {', '.join(STATUSES)}")
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    if status is not None:
        kwargs["ModelApprovalStatus"] = status
    summaries: list[dict[str, Any]] = []
    while True:
        page = client.list_model_packages(**kwargs)
        summaries += page.get("ModelPackageSummaryList", [])
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    summaries.sort(key=lambda item: int(item.get("ModelPackageVersion") or 0), reverse=True)
    return [describe(client, item["ModelPackageArn"]) for item in summaries]


def latest_approved(client: Any, group: str) -> Package | None:
    """The champion: the newest approved package of the group, or None."""
    approved = list_packages(client, group, APPROVED)
    return approved[0] if approved else None


def set_status(
    client: Any, arn: str, status: str, reason: str, extra_metadata: dict[str, str] | None = None
) -> Change:
    """Move a package to ``status`` with a reason; a package already there is left alone."""
    if not reason.strip():
        raise RegistryError("give a reason (--reason) for the approval decision")
    package = describe(client, arn)
    if package.status == status:
        return Change(package, changed=False)
    metadata = {**package.metadata, **(extra_metadata or {})}
    request: dict[str, Any] = {
        "ModelPackageArn": arn,
        "ModelApprovalStatus": status,
        "ApprovalDescription": reason[:1000],
    }
    if metadata:
        request["CustomerMetadataProperties"] = metadata
    client.update_model_package(**request)
    return Change(describe(client, arn), changed=True)


def approve(client: Any, arn: str, reason: str) -> Change:
    """Approve a package (the champion from now on); idempotent."""
    return set_status(client, arn, APPROVED, reason)


def reject(client: Any, arn: str, reason: str) -> Change:
    """Reject a package, recording why; idempotent. A rejected package is never promoted."""
    return set_status(client, arn, REJECTED, reason)


def state_change(event: dict[str, Any]) -> tuple[str, str, str]:
    """(group, package ARN, status) of an EventBridge model package state change event."""
    detail = event.get("detail") or {}
    missing = [
        k
        for k in ("ModelPackageGroupName", "ModelPackageArn", "ModelApprovalStatus")
        if not detail.get(k)
    ]
    if event.get("detail-type") != "SageMaker Model Package State Change" or missing:
        raise RegistryError(
            "not a model package state change event (expected detail-type "
            "'SageMaker Model Package State Change' with group, ARN and approval status)"
        )
    return (
        detail["ModelPackageGroupName"],
        detail["ModelPackageArn"],
        detail["ModelApprovalStatus"],
    )
