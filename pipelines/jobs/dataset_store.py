"""Retained copies of a dataset version's objects: immutable, content-addressed, outside ``raw/``.

``raw/`` expires by lifecycle (``storage.rawExpirationDays``) and producers may
overwrite a key, so a manifest of ``raw/`` keys could not give a registered
model its bytes back a year later, nor even guarantee that Validate reads the
bytes the Dataset step hashed. Each object of a version is therefore copied,
from the exact S3 version that was hashed (``CopySource`` with ``VersionId``),
to ``<datasets>/objects/<sha256>/<key below the input prefix>``: the key names
the content, so an object already copied by an earlier version is not copied
again, and nothing ever overwrites one. The manifest Validate reads lists these
copies, and the version's record keeps each source key, its S3 version id and
sha256. No lifecycle rule expires ``datasets/`` except copies the retention
sweep (``dataset_retention``) tags as unneeded.

Copies carry no tags (``TaggingDirective=REPLACE``), whatever the producer
tagged, so only the sweep's ``retention=expired`` tag can expire one.
"""

from __future__ import annotations

from typing import Any

OBJECTS_FOLDER = "objects/"


def retained_key(datasets_prefix: str, sha256: str, key: str) -> str:
    """``<datasets prefix>objects/<sha256>/<key>``: where the copy of one object lives."""
    return f"{datasets_prefix}{OBJECTS_FOLDER}{sha256}/{key}"


def _exists(s3: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def retain(
    s3: Any,
    source: tuple[str, str, str | None],
    destination: tuple[str, str],
) -> bool:
    """Copy ``(bucket, key, version id)`` to ``(bucket, key)`` unless it is there; True if copied.

    The managed copy splits objects over 5 GB into parts (CopyObject's limit).
    """
    bucket, key = destination
    if _exists(s3, bucket, key):
        return False
    source_bucket, source_key, version_id = source
    copy_source = {"Bucket": source_bucket, "Key": source_key}
    if version_id:
        copy_source["VersionId"] = version_id
    s3.copy(
        copy_source,
        bucket,
        key,
        ExtraArgs={"TaggingDirective": "REPLACE"},
    )
    return True
