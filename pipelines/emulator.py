"""The AWS the local runner talks to: moto in-process, or an emulator already listening.

In-process (the default) nothing leaves the machine and the state lives as
long as the run. With an endpoint URL (``--endpoint-url`` or
``AWS_ENDPOINT_URL``, e.g. ``moto_server -H 127.0.0.1 -p 5000``) the registry
outlives the run, so ``mlops registry list --endpoint-url ...`` can inspect it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class AwsClients:
    """The clients a local run needs, all pointed at the same emulator."""

    s3: Any
    sagemaker: Any
    region: str
    endpoint_url: str | None


@contextmanager
def aws_emulator(region: str, endpoint_url: str | None = None) -> Iterator[AwsClients]:
    """Clients for moto in-process, or for the emulator at ``endpoint_url``."""
    import boto3

    if endpoint_url:
        yield _clients(
            boto3.session.Session(region_name=region, **_credentials()), region, endpoint_url
        )
        return
    from moto import mock_aws

    saved = {key: os.environ.get(key) for key in (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL")}
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            yield _clients(boto3.session.Session(region_name=region), region, None)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _credentials() -> dict[str, str]:
    """Fake credentials unless real-looking ones are set (an emulator accepts any)."""
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        return {}
    return {
        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def _clients(session: Any, region: str, endpoint_url: str | None) -> AwsClients:
    return AwsClients(
        s3=session.client("s3", endpoint_url=endpoint_url),
        sagemaker=session.client("sagemaker", endpoint_url=endpoint_url),
        region=region,
        endpoint_url=endpoint_url,
    )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://"):
        from ml.errors import MlopsError

        raise MlopsError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    """Create the bucket unless it exists (an external emulator keeps them between runs)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError:
        pass
    options = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=bucket, **options)


def upload_dir(s3: Any, local: Path, uri: str) -> int:
    """Upload every file under ``local`` below the S3 prefix ``uri``; returns the count."""
    bucket, prefix = split_s3_uri(uri)
    prefix = prefix.rstrip("/")
    files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else []
    for path in files:
        key = f"{prefix}/{path.relative_to(local).as_posix()}" if prefix else path.name
        s3.upload_file(str(path), bucket, key)
    return len(files)


def upload_file(s3: Any, local: Path, uri: str) -> None:
    bucket, key = split_s3_uri(uri)
    s3.upload_file(str(local), bucket, key)


def download_prefix(s3: Any, uri: str, local: Path) -> int:
    """Download every object under the S3 prefix ``uri`` into ``local`` (SageMaker's S3Prefix)."""
    bucket, prefix = split_s3_uri(uri)
    local.mkdir(parents=True, exist_ok=True)
    count = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            # Keys land relative to the prefix; a prefix naming one object lands as its file name.
            relative = item["Key"][len(prefix) :].lstrip("/") or item["Key"].rsplit("/", 1)[-1]
            target = local / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            count += 1
    return count


def download_manifest(s3: Any, uri: str, local: Path) -> int:
    """Download the objects a SageMaker manifest names (``S3DataType: ManifestFile``).

    The manifest is a JSON list: ``{"prefix": "s3://..."}`` first, then keys relative to it
    (SageMaker API reference, ``S3DataSource.S3Uri``); each lands under ``local`` by that key.
    """
    import json

    bucket, key = split_s3_uri(uri)
    entries = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    prefix_bucket, prefix = split_s3_uri(entries[0]["prefix"])
    local.mkdir(parents=True, exist_ok=True)
    for relative in entries[1:]:
        target = local / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(prefix_bucket, f"{prefix}{relative}", str(target))
    return len(entries) - 1


def tree_sha256(root: Path) -> str:
    """A fingerprint of a directory: relative names and contents, in name order."""
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
