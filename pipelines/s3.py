"""S3 URIs and transfers that job steps and operator tools share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml.errors import MlopsError


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://") or not uri[5:].partition("/")[0]:
        raise MlopsError(f"{uri!r} is not an s3:// URI; expected s3://<bucket>/<key>")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


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
