"""Copy what a model package names in S3 into another stack's artifacts bucket.

A stack's execution role reads only its own buckets and decrypts only with its
own key, so a promoted package must name objects of the target stack. Every
``s3://`` URI in the package's inference specification, metrics and drift
baselines is copied to ``promoted/<source stack>/<version>/<source key>`` of
the target's artifacts bucket (a key promoted before loses its old prefix),
re-encrypted with the target's key (the bucket policy refuses any other key),
and the URIs of the copy are rewritten to match.
A repeated copy finds its objects in place and leaves them alone.

S3 SSE-KMS on copy: https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.registry import RegistryError
from pipelines.s3 import split_s3_uri

PROMOTED_PREFIX = "promoted"
# The package fields that may name S3 objects and are carried over to the copy.
COPIED_FIELDS = ("InferenceSpecification", "ModelMetrics", "DriftCheckBaselines")


@dataclass(frozen=True)
class Destination:
    """Where copies go: the target stack's artifacts bucket and key."""

    bucket: str
    key_arn: str
    prefix: str  # promoted/<source stack>/<version>/


def s3_uris(value: Any) -> list[str]:
    """Every ``s3://`` string nested in ``value``, in order, without duplicates."""
    found: list[str] = []

    def visit(item: Any) -> None:
        if isinstance(item, dict):
            for child in item.values():
                visit(child)
        elif isinstance(item, list):
            for child in item:
                visit(child)
        elif isinstance(item, str) and item.startswith("s3://") and item not in found:
            found.append(item)

    visit(value)
    return found


def rewrite(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` with every string found in ``mapping`` replaced."""
    if isinstance(value, dict):
        return {key: rewrite(child, mapping) for key, child in value.items()}
    if isinstance(value, list):
        return [rewrite(child, mapping) for child in value]
    if isinstance(value, str):
        return mapping.get(value, value)
    return value


def target_key(key: str, destination: Destination) -> str:
    """``a/b`` -> ``promoted/<stack>/<version>/a/b``; an earlier promotion's prefix is replaced."""
    parts = key.split("/")
    if parts[0] == PROMOTED_PREFIX and len(parts) > 3:
        key = "/".join(parts[3:])
    return f"{destination.prefix}{key}"


def target_uri(uri: str, destination: Destination) -> str:
    """``s3://src/a/b`` -> ``s3://<target>/promoted/<stack>/<version>/a/b``."""
    _, key = split_s3_uri(uri)
    return f"s3://{destination.bucket}/{target_key(key, destination)}"


def copy_uris(s3: Any, uris: list[str], destination: Destination) -> dict[str, str]:
    """Copy each URI (an object, or a prefix ending in ``/``); returns source -> copy URI."""
    mapping: dict[str, str] = {}
    for uri in uris:
        bucket, key = split_s3_uri(uri)
        if bucket == destination.bucket:
            mapping[uri] = uri  # already the target's own object
            continue
        keys = _keys_under(s3, bucket, key) if key.endswith("/") or not key else [key]
        if not keys:
            raise RegistryError(f"{uri} names no object; the package cannot be promoted")
        for source_key in keys:
            _copy_object(s3, bucket, source_key, destination)
        mapping[uri] = target_uri(uri, destination)
    return mapping


def _keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def _copy_object(s3: Any, bucket: str, key: str, destination: Destination) -> None:
    copy_key = target_key(key, destination)
    source = _head(s3, bucket, key)
    if source is None:
        raise RegistryError(f"s3://{bucket}/{key} not found; the package cannot be promoted")
    existing = _head(s3, destination.bucket, copy_key)
    if (
        existing is not None
        and existing.get("SSEKMSKeyId") == destination.key_arn
        and existing.get("ContentLength") == source.get("ContentLength")
        and existing.get("Metadata", {}).get("source-etag") == source.get("ETag", "").strip('"')
    ):
        return
    extra: dict[str, Any] = {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": destination.key_arn,
        "MetadataDirective": "REPLACE",  # new metadata: where the copy came from
        "Metadata": {
            **source.get("Metadata", {}),
            "source-uri": f"s3://{bucket}/{key}",
            "source-etag": source.get("ETag", "").strip('"'),
        },
    }
    if source.get("ContentType"):
        extra["ContentType"] = source["ContentType"]
    s3.copy({"Bucket": bucket, "Key": key}, destination.bucket, copy_key, ExtraArgs=extra)


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        head: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head


def copied_fields(
    described: dict[str, Any], copy: Callable[[list[str]], dict[str, str]]
) -> dict[str, Any]:
    """The package fields of ``COPIED_FIELDS`` with their S3 objects copied and URIs rewritten."""
    fields = {name: described[name] for name in COPIED_FIELDS if described.get(name)}
    mapping = copy(s3_uris(fields))
    result: dict[str, Any] = rewrite(fields, mapping)
    return result
