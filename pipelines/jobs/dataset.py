"""The pipeline's first step: turn the objects under ``raw/`` into a content-addressed version.

SageMaker keys a step's cache on the *values* of its arguments, inputs
included, not on the data behind them ("Default cache key attributes by
pipeline step type": AppSpecification, Environment, ProcessingInputs; the SDK
guide's "Caching Configuration": "If the S3 path changes, a new processing
job is initiated"). A fixed input such as ``s3://<data>/raw/`` therefore hits
the cache for the whole ``ExpireAfter`` window, however much new data lands.

This step runs on every execution (its own cache is off). It lists the
objects under the input prefix (skipping any ``quarantine/`` folder), hashes
each one, copies each (the exact S3 version it hashed) to an immutable,
content-addressed key under ``s3://<data>/datasets/objects/``
(``dataset_store``), and writes under ``s3://<data>/datasets/<version>/``:

- ``manifest.json``: a SageMaker manifest (``S3DataType: ManifestFile``) of
  those copies: a JSON list whose first element is ``{"prefix": "s3://..."}``
  and whose other elements are keys relative to it (API reference,
  ``S3DataSource.S3Uri``);
- ``dataset.json``: the record of the version, every source key with its size,
  sha256, S3 version id and retained copy.

``<version>`` is derived from the sorted (key, sha256) list, so the same data
gives the same manifest URI and new or changed data a new one; the copies keep
the bytes after ``raw/`` expires, so a registered model can be retrained byte for
byte from its ``DatasetManifestUri``. Validate reads
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from pipelines.jobs.dataset_retention import sweep
from pipelines.jobs.dataset_store import retain, retained_key

MANIFEST_FILE = "manifest.json"
RECORD_FILE = "dataset.json"
SKIPPED_FOLDERS = frozenset({"quarantine"})
RUN_KINDS = ("scheduled", "alarm", "manual")  # pipelines.lambdas.start_pipeline.RUN_KINDS
VERSION_CHARS = 16
CHUNK = 1 << 20


class DatasetError(MlopsError):
    """The input prefix cannot be versioned (not an S3 URI, or nothing under it)."""


@dataclass(frozen=True)
class DataObject:
    """One object of a dataset version: key below the prefix, size, sha256, S3 version id."""

    key: str
    size: int
    sha256: str
    version_id: str | None = None


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


def manifest(prefix_uri: str, keys: Iterable[str]) -> list[Any]:
    """The SageMaker manifest: the prefix first, then the relative keys in the order given."""
    return [{"prefix": prefix_uri}, *keys]


def copy_key(item: DataObject) -> str:
    """The retained copy's key below the datasets prefix (``objects/<sha256>/<key>``)."""
    return retained_key("", item.sha256, item.key)


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
            fetched = s3.get_object(Bucket=bucket, Key=item["Key"])
            version = fetched.get("VersionId")  # absent (or "null") where versioning is off
            digest = _sha256(fetched["Body"])
            found.append(
                DataObject(
                    relative,
                    int(fetched.get("ContentLength", item["Size"])),
                    digest,
                    version if version and version != "null" else None,
                )
            )
    return sorted(found, key=lambda item: item.key)


def directory_uri(uri: str) -> str:
    """A prefix ends with ``/``, so ``raw`` never matches ``raw-old/``."""
    return uri if uri.endswith("/") else f"{uri}/"


def _retain_all(s3: Any, prefix_uri: str, base: str, objects: list[DataObject]) -> int:
    """Copy each object of the version below ``base`` (the datasets prefix); returns copies made."""
    source_bucket, source_prefix = split_uri(prefix_uri)
    bucket, prefix = split_uri(base)
    return sum(
        retain(
            s3,
            (source_bucket, f"{source_prefix}{item.key}", item.version_id),
            (bucket, f"{prefix}{copy_key(item)}"),
        )
        for item in objects
    )


def write_version(s3: Any, input_uri: str, datasets_uri: str) -> dict[str, Any]:
    """Version the objects under ``input_uri``; returns what the property file holds."""
    prefix_uri = directory_uri(input_uri)
    objects = list_objects(s3, prefix_uri)
    if not objects:
        raise DatasetError(f"no data files under {prefix_uri}; upload the raw files there first")
    version = version_of(objects)
    datasets = directory_uri(datasets_uri)
    base = f"{datasets}{version}/"
    bucket, key = split_uri(base)
    _retain_all(s3, prefix_uri, datasets, objects)
    record = {
        "version": version,
        "prefix": prefix_uri,
        "retained_prefix": datasets,
        "objects": [{**vars(item), "retained_key": copy_key(item)} for item in objects],
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
            Body=json.dumps(manifest(datasets, (copy_key(o) for o in objects))).encode(),
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Version the raw data as a manifest.")
    parser.add_argument("--input-uri", required=True, help="s3:// prefix to version")
    parser.add_argument("--datasets-uri", required=True, help="s3:// prefix of the versions")
    parser.add_argument(
        "--model-package-group", help="keep the versions this group's packages name"
    )
    parser.add_argument(
        "--retain-unregistered-days",
        type=int,
        default=365,
        help="copies no package names expire after this many days (storage.rawExpirationDays)",
    )
    parser.add_argument("--run-kind", choices=RUN_KINDS, default="manual", help="who started it")
    parser.add_argument("--now", type=_instant, default=None, help="ISO 8601 (default: now)")
    parser.add_argument("--out", type=Path, default=Path("/opt/ml/processing/output/dataset"))
    return parser


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run(args: argparse.Namespace, s3: Any, sagemaker: Any) -> dict[str, Any]:
    """Version the input, then (with a group) sweep the copies no registered model needs."""
    found = write_version(s3, args.input_uri, args.datasets_uri)
    found["run_kind"] = args.run_kind
    if args.model_package_group:
        found["retention"] = sweep(
            s3,
            sagemaker,
            split_uri(directory_uri(args.datasets_uri)),
            group=args.model_package_group,
            current_version=found["version"],
            now=args.now or datetime.now(UTC),
            retain_for=timedelta(days=args.retain_unregistered_days),
        )
    return found


def main(argv: list[str] | None = None) -> int:
    """Processing entry point: version the input prefix, write ``dataset.json`` for JsonGet."""
    args = _parser().parse_args(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = run(args, boto3.client("s3"), boto3.client("sagemaker"))
    except (MlopsError, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / RECORD_FILE).write_text(json.dumps(found, indent=2), encoding="utf-8")
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
