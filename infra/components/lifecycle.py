"""A bucket's lifecycle rules: old versions tiered and expired, prefixes and tagged copies expired.

S3 evaluates every rule of a bucket's configuration; the prefix rules, the
old-version rule and each tag rule stay separate so one never narrows another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.config import Storage as StorageSettings


@dataclass(frozen=True)
class ExpiringPrefix:
    """Objects under ``prefix`` expire after ``days`` (their old versions too)."""

    prefix: str
    days: int


@dataclass(frozen=True)
class ExpiringTagged:
    """Objects under ``prefix`` tagged ``key=value`` expire ``days`` after they were written."""

    rule_id: str
    prefix: str
    key: str
    value: str
    days: int


# The Dataset step's retention sweep tags the dataset copies no registered package names
# (pipelines/jobs/dataset_retention.py); they are older than storage.rawExpirationDays by then.
UNREGISTERED_DATASET_COPIES = ExpiringTagged(
    "expire-unregistered-dataset-copies", "datasets/objects/", "retention", "expired", 1
)


def tagged_expiration(item: ExpiringTagged) -> dict[str, Any]:
    """A rule of its own, so the prefix rules and the old-version rule stay as they are."""
    return {
        "id": item.rule_id,
        "status": "Enabled",
        "filter": {"and_": {"prefix": item.prefix, "tags": {item.key: item.value}}},
        "expiration": {"days": item.days},
    }


def lifecycle_rules(settings: StorageSettings, expiring: list[ExpiringPrefix]) -> list[Any]:
    """Old versions expire (after moving to STANDARD_IA when the stack says so); prefixes too.

    S3 refuses a rule whose noncurrent expiration is not later than its transition
    (``InvalidArgument``); the config refuses such a pair before this runs.
    """
    old_versions: dict[str, Any] = {
        "id": "abort-incomplete-uploads-and-expire-old-versions",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        "noncurrent_version_expiration": {"noncurrent_days": settings.noncurrent_version_days},
    }
    if settings.infrequent_access_after_days is not None:
        old_versions["id"] = "abort-incomplete-uploads-and-tier-old-versions"
        old_versions["noncurrent_version_transitions"] = [
            {
                "noncurrent_days": settings.infrequent_access_after_days,
                "storage_class": "STANDARD_IA",
            },
        ]
    rules: list[Any] = [old_versions]
    for item in expiring:
        rules.append(
            {
                "id": f"expire-{item.prefix.strip('/') or 'all'}",
                "status": "Enabled",
                "filter": {"prefix": item.prefix},
                "expiration": {"days": item.days},
            }
        )
    return rules
