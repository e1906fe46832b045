"""Keep the retained copies a registered model names; let the others expire after ``raw/`` would.

Every package the pipeline registers names its dataset version
(``CustomerMetadataProperties.DatasetVersion``). Once a day, the Dataset step
reads the model package group (``ListModelPackages``; each new package is
described once and remembered in ``<datasets>/retention.json``), collects the
retained copies of every version a package names plus the version this run
made, and tags every other copy older than ``--retain-unregistered-days``
(the stack's ``storage.rawExpirationDays``) ``retention=expired``. The data
bucket's lifecycle rule ``expire-unregistered-dataset-copies`` (prefix
``datasets/objects/``, that tag) deletes exactly those. So a version stays
byte for byte while a package names it, and an unregistered one lives as long
as the ``raw/`` objects it copied would have.

Nothing expires without a sweep that read the registry first: where no run
happens (dev, with its schedule off) copies are simply kept. A copy tagged
expired that a newly registered version names before the lifecycle ran is
tagged ``retention=kept`` again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipelines.jobs.dataset_store import OBJECTS_FOLDER

STATE_FILE = "retention.json"
RECORD_FILE = "dataset.json"
DATASET_VERSION = "DatasetVersion"  # the Register step's metadata key (pipelines.definitions.gates)
TAG_KEY = "retention"
EXPIRED, KEPT = "expired", "kept"
SWEEP_EVERY = timedelta(days=1)


@dataclass
class RetentionState:
    """What the last sweeps learnt: each package's dataset version, when it last tagged."""

    packages: dict[str, str | None] = field(default_factory=dict)
    last_sweep: str | None = None
    expired: list[str] = field(default_factory=list)


def _read_json(s3: Any, bucket: str, key: str) -> Any | None:
    from botocore.exceptions import ClientError

    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def load_state(s3: Any, bucket: str, prefix: str) -> RetentionState:
    found = _read_json(s3, bucket, f"{prefix}{STATE_FILE}") or {}
    return RetentionState(
        packages=dict(found.get("packages", {})),
        last_sweep=found.get("last_sweep"),
        expired=list(found.get("expired", [])),
    )


def save_state(s3: Any, bucket: str, prefix: str, state: RetentionState) -> None:
    body = json.dumps(vars(state), indent=2, sort_keys=True).encode()
    s3.put_object(
        Bucket=bucket, Key=f"{prefix}{STATE_FILE}", Body=body, ContentType="application/json"
    )


def registered_versions(
    sagemaker: Any, group: str, known: dict[str, str | None]
) -> dict[str, str | None]:
    """Every package of ``group`` and the dataset version it names (new ones described once)."""
    packages: dict[str, str | None] = {}
    for page in sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group
    ):
        for summary in page.get("ModelPackageSummaryList", []):
            arn = summary["ModelPackageArn"]
            if arn in known:
                packages[arn] = known[arn]
                continue
            described = sagemaker.describe_model_package(ModelPackageName=arn)
            packages[arn] = (described.get("CustomerMetadataProperties") or {}).get(DATASET_VERSION)
    return packages


def kept_keys(s3: Any, bucket: str, prefix: str, versions: set[str]) -> set[str]:
    """The retained copies the versions' records list (records without copies keep nothing)."""
    keys: set[str] = set()
    for version in sorted(versions):
        record = _read_json(s3, bucket, f"{prefix}{version}/{RECORD_FILE}") or {}
        keys.update(
            f"{prefix}{item['retained_key']}"
            for item in record.get("objects", [])
            if "retained_key" in item
        )
    return keys


def _tag(s3: Any, bucket: str, key: str, value: str) -> None:
    s3.put_object_tagging(
        Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": TAG_KEY, "Value": value}]}
    )


def _copies(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}{OBJECTS_FOLDER}"
    ):
        found.extend(page.get("Contents", []))
    return found


def sweep(
    s3: Any,
    sagemaker: Any,
    location: tuple[str, str],
    *,
    group: str,
    current_version: str,
    now: datetime,
    retain_for: timedelta,
) -> dict[str, Any]:
    """Tag the copies no registered version (nor this run's) needs and older than ``retain_for``."""
    bucket, prefix = location
    state = load_state(s3, bucket, prefix)
    state.packages = registered_versions(sagemaker, group, state.packages)
    versions = {v for v in state.packages.values() if v}
    summary: dict[str, Any] = {
        "packages": len(state.packages),
        "registered_versions": len(versions),
    }
    last = datetime.fromisoformat(state.last_sweep) if state.last_sweep else None
    if last is not None and now - last < SWEEP_EVERY:
        save_state(s3, bucket, prefix, state)
        return {**summary, "swept": False}
    keep = kept_keys(s3, bucket, prefix, versions | {current_version})
    revived = [key for key in state.expired if key in keep]
    for key in revived:
        _tag(s3, bucket, key, KEPT)
    expired = [
        item["Key"]
        for item in _copies(s3, bucket, prefix)
        if item["Key"] not in keep and item["LastModified"] <= now - retain_for
    ]
    for key in expired:
        _tag(s3, bucket, key, EXPIRED)
    state.last_sweep, state.expired = now.isoformat(), expired
    save_state(s3, bucket, prefix, state)
    counts = {"kept": len(keep), "expired": len(expired), "revived": len(revived)}
    return {**summary, "swept": True, **counts}
