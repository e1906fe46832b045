"""The capture files of a time window, and the serving model's files, fetched from S3.

Why the job lists S3 itself instead of declaring a processing input: an
``S3Prefix`` input downloads every object under the prefix (the whole capture
retention, each hour), and a ``ManifestFile`` input needs the key list written
before the job starts (ProcessingS3Input,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html).
The endpoint writes capture under ``<variant>/yyyy/mm/dd/hh/`` (the hour of the
invocation, UTC), so the window's files are the keys under its hours' folders.
They are found with one listing, not one per hour: ``ListObjectsV2`` returns keys
in ascending order of their names, up to 1,000 a page, and ``StartAfter`` starts
after any key (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html);
the zero-padded hour folders sort as time does, so the listing starts just
before the first hour's folder and stops at the first key past the last one.
Each file is one ``GetObject`` (``download_file`` would ask ``HeadObject`` first
for a ranged download, which files of this size do not need). Files land
locally in the same ``yyyy/mm/dd/hh/`` layout, which is what ``ml.capture``
places a window by.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ml.capture import CAPTURE_SUFFIX, Window
from ml.errors import MlopsError
from ml.io import TABLE_SUFFIXES
from ml.model_artifact import BASELINE_FILE, METADATA_FILE, TARBALL, ModelLoadError, read_file

HOUR = timedelta(hours=1)


class ServingModelError(MlopsError):
    """The serving model package or its artifact lacks what monitoring needs."""


def hour_prefixes(prefix: str, window: Window) -> list[str]:
    """``<prefix>yyyy/mm/dd/hh/`` for every hour that overlaps the window."""
    if window.start is None or window.end is None:
        raise MlopsError("a capture window needs both a start and an end")
    hour = window.start.replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour < window.end:
        prefixes.append(f"{_folder(prefix)}{hour:%Y/%m/%d/%H}/")
        hour += HOUR
    return prefixes


def same_hour_windows(window: Window, days: int) -> list[Window]:
    """The window moved back by 1..days whole days: the same clock hours on earlier days."""
    if window.start is None or window.end is None:
        raise MlopsError("a capture window needs both a start and an end")
    return [
        Window(window.start - timedelta(days=back), window.end - timedelta(days=back))
        for back in range(1, days + 1)
    ]


def _folder(prefix: str) -> str:
    return prefix if not prefix or prefix.endswith("/") else f"{prefix}/"


def _keys(s3: Any, bucket: str, prefix: str, since: datetime | None = None) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(
            item["Key"]
            for item in page.get("Contents", [])
            if since is None or item["LastModified"] >= since
        )
    return sorted(keys)


def window_objects(s3: Any, bucket: str, prefix: str, window: Window) -> list[dict[str, Any]]:
    """The listed objects (``Key``, ``ETag``, ...) under the window's hour folders, in key order.

    One listing from just before the first hour's folder; the pages stop at the
    first key past the last hour's folder.
    """
    folders = hour_prefixes(_folder(prefix), window)
    if not folders:
        return []
    wanted, last = set(folders), folders[-1]
    start = folders[0][:-1]  # ``.../hh`` sorts before every key of ``.../hh/``
    found: list[dict[str, Any]] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=_folder(prefix), StartAfter=start
    )
    for page in pages:
        for item in page.get("Contents", []):
            key = item["Key"]
            if key > last and not key.startswith(last):
                return found
            if key[: len(last)] in wanted:
                found.append(item)
    return found


def get_file(s3: Any, bucket: str, key: str, path: Path) -> Path:
    """One object to ``path`` with a single ``GetObject``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with path.open("wb") as out:
        for chunk in body.iter_chunks(1 << 20):
            out.write(chunk)
    return path


def download_window(
    s3: Any, bucket: str, prefix: str, window: Window, destination: Path
) -> list[Path]:
    """Download the window's capture files to ``destination/yyyy/mm/dd/hh/``; [] if none."""
    root = _folder(prefix)
    return [
        get_file(s3, bucket, item["Key"], destination / item["Key"][len(root) :])
        for item in window_objects(s3, bucket, root, window)
        if item["Key"].endswith(CAPTURE_SUFFIX)
    ]


def download_tables(
    s3: Any, bucket: str, prefix: str, destination: Path, since: datetime | None = None
) -> list[Path]:
    """Download the CSV or Parquet files under a prefix written since an instant; [] if none.

    Labels of predictions made in a window can only have been written after
    the window began, so older label files are never read again.
    """
    root = _folder(prefix)
    written = []
    for key in _keys(s3, bucket, root, since):
        if Path(key).suffix.lower() not in TABLE_SUFFIXES:
            continue
        written.append(get_file(s3, bucket, key, destination / key[len(root) :]))
    return written


def model_data_url(sagemaker: Any, package_arn: str) -> str:
    """The S3 URI of a model package's artifact (its first container's ``ModelDataUrl``)."""
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    try:
        return str(package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"])
    except (KeyError, IndexError):
        raise ServingModelError(
            f"{package_arn}: the package names no model artifact (ModelDataUrl); "
            "register it from a training run"
        ) from None


def model_evaluation_url(sagemaker: Any, package_arn: str) -> str | None:
    """The S3 URI of the evaluation registered with a model package, or None.

    The training pipeline registers ``evaluation.json`` as the package's
    ``ModelMetrics.ModelQuality.Statistics`` (a promotion copies it along).
    """
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    statistics = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    uri = statistics.get("S3Uri")
    return str(uri) if uri else None


def download_url(s3: Any, url: str, destination: Path) -> Path:
    """Download one ``s3://bucket/key`` object to ``destination``."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ServingModelError(f"{url}: not an s3://bucket/key URI")
    destination.parent.mkdir(parents=True, exist_ok=True)
    s3.download_file(parsed.netloc, parsed.path.lstrip("/"), str(destination))
    return destination


def fetch_model_files(s3: Any, url: str, destination: Path) -> Path:
    """Download a model tarball and extract its drift baseline and metadata into destination.

    Only those two members are read, by name, so an archive cannot write outside
    the destination; the tarball stays beside them for ``ml.inference.model_fn``.
    The destination is the job's scratch folder, gone when the job ends, so the
    files are written plainly, not synced to disk as files that matter are.
    """
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ServingModelError(f"{url}: not an s3://bucket/key model artifact URI")
    destination.mkdir(parents=True, exist_ok=True)
    s3.download_file(parsed.netloc, parsed.path.lstrip("/"), str(destination / TARBALL))
    for name in (BASELINE_FILE, METADATA_FILE):
        try:
            data = read_file(destination, name)
        except ModelLoadError:
            raise ServingModelError(f"{url}: not a gzipped tar model artifact") from None
        if data is None:
            raise ServingModelError(
                f"{url}: the model artifact has no {name}; retrain with ml.train, "
                "which writes it beside the model"
            )
        (destination / name).write_bytes(data)
    return destination


def parse_instant(text: str) -> datetime:
    """An ISO 8601 argument as a UTC instant (naive means UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
