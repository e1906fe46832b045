"""The pipeline's first step: turn the objects under ``raw/`` into a content-addressed version.

SageMaker keys a step's cache on the *values* of its arguments, inputs
included, not on the data behind them ("Default cache key attributes by
pipeline step type": AppSpecification, Environment, ProcessingInputs; the SDK
guide's "Caching Configuration": "If the S3 path changes, a new processing
job is initiated"). A fixed input such as ``s3://<data>/raw/`` therefore hits
the cache for the whole ``ExpireAfter`` window, however much new data lands.

This step runs on every execution (its own cache is off). It lists the
objects under the input prefix (skipping any ``quarantine/`` folder), hashes
each one, and writes under ``s3://<data>/datasets/<version>/``:

- ``manifest.json``: a SageMaker manifest (``S3DataType: ManifestFile``): a
  JSON list whose first element is ``{"prefix": "s3://..."}`` and whose other
  elements are keys relative to it (API reference, ``S3DataSource.S3Uri``);
- ``dataset.json``: the record of the version, every key with its size and sha256.

``<version>`` is derived from the sorted (key, sha256) list, so the same data
gives the same manifest URI and new or changed data a new one. Validate reads
its input through that manifest, the URI coming from this step's property file
(``Std:JsonGet``; the SDK guide: JsonGet extracts a property-file value "and
pass[es] it to subsequent steps"), so Validate and everything after it is
served from the cache exactly when the data is unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.errors import MlopsError

MANIFEST_FILE = "manifest.json"
RECORD_FILE = "dataset.json"
SKIPPED_FOLDERS = frozenset({"quarantine"})
VERSION_CHARS = 16
CHUNK = 1 << 20


class DatasetError(MlopsError):
    """The input prefix cannot be versioned (not an S3 URI, or nothing under it)."""


@dataclass(frozen=True)
class DataObject:
    """One object of a dataset version: its key relative to the prefix, size and sha256."""

    key: str
    size: int
    sha256: str


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); anything else is a clear error."""
    if not uri.startswith("s3://") or not uri[5:].partition("/")[0]:
        raise DatasetError(
            f"{uri!r} is not an s3:// URI; pass the prefix to version, s3://<bucket>/raw/"
        )
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def version_of(objects: Iterable[DataObject]) -> str:
    """The version id: a digest of the sorted (key, sha256) pairs, nothing else."""
    pairs = sorted((item.key, item.sha256) for item in objects)
    digest = hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()
    return digest[:VERSION_CHARS]


def manifest(prefix_uri: str, objects: Iterable[DataObject]) -> list[Any]:
    """The SageMaker manifest: the prefix first, then the relative keys in order."""
    return [{"prefix": prefix_uri}, *sorted(item.key for item in objects)]


def _skipped(relative: str) -> bool:
    folders = relative.split("/")[:-1]
    return relative.endswith("/") or not relative or any(f in SKIPPED_FOLDERS for f in folders)


def _sha256(body: Any) -> str:
    """sha256 of a streamed S3 body, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    while chunk := body.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def list_objects(s3: Any, prefix_uri: str) -> list[DataObject]:
    """Every object under the prefix (``quarantine/`` folders skipped), hashed, in key order."""
    bucket, prefix = split_uri(prefix_uri)
    found: list[DataObject] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if _skipped(relative):
                continue
            digest = _sha256(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"])
            found.append(DataObject(relative, int(item["Size"]), digest))
    return sorted(found, key=lambda item: item.key)


def directory_uri(uri: str) -> str:
    """A prefix ends with ``/``, so ``raw`` never matches ``raw-old/``."""
    return uri if uri.endswith("/") else f"{uri}/"


def write_version(s3: Any, input_uri: str, datasets_uri: str) -> dict[str, Any]:
    """Version the objects under ``input_uri``; returns what the property file holds."""
    prefix_uri = directory_uri(input_uri)
    objects = list_objects(s3, prefix_uri)
    if not objects:
        raise DatasetError(f"no data files under {prefix_uri}; upload the raw files there first")
    version = version_of(objects)
    base = f"{directory_uri(datasets_uri)}{version}/"
    bucket, key = split_uri(base)
    record = {
        "version": version,
        "prefix": prefix_uri,
        "objects": [vars(item) for item in objects],
        "bytes": sum(item.size for item in objects),
    }
    from botocore.exceptions import ClientError

    try:  # a version is immutable: the same data wrote the same files already
        s3.head_object(Bucket=bucket, Key=f"{key}{MANIFEST_FILE}")
    except ClientError:
        s3.put_object(
            Bucket=bucket,
            Key=f"{key}{RECORD_FILE}",
            Body=json.dumps(record, indent=2).encode(),
            ContentType="application/json",
        )
        s3.put_object(
            Bucket=bucket,
            Key=f"{key}{MANIFEST_FILE}",
            Body=json.dumps(manifest(prefix_uri, objects)).encode(),
            ContentType="application/json",
        )
    return {
        "version": version,
        "manifest_uri": f"{base}{MANIFEST_FILE}",
        "record_uri": f"{base}{RECORD_FILE}",
        "prefix": prefix_uri,
        "objects": len(objects),
        "bytes": record["bytes"],
    }


def main(argv: list[str] | None = None) -> int:
    """Processing entry point: version the input prefix, write ``dataset.json`` for JsonGet."""
    parser = argparse.ArgumentParser(description="Version the raw data as a manifest.")
    parser.add_argument("--input-uri", required=True, help="s3:// prefix to version")
    parser.add_argument("--datasets-uri", required=True, help="s3:// prefix of the versions")
    parser.add_argument("--out", type=Path, default=Path("/opt/ml/processing/output/dataset"))
    args = parser.parse_args(argv)
    import boto3

    try:
        found = write_version(boto3.client("s3"), args.input_uri, args.datasets_uri)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / RECORD_FILE).write_text(json.dumps(found, indent=2), encoding="utf-8")
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
