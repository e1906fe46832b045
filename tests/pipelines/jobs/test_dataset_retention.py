"""Retained copies live while a registered package names their version (moto S3 and SageMaker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.jobs.dataset import main, write_version
from pipelines.jobs.dataset_retention import sweep

BUCKET = "mlops-prod-data-123456789012-us-east-1"
RAW = f"s3://{BUCKET}/raw/"
DATASETS = f"s3://{BUCKET}/datasets/"
GROUP = "mlops-prod-fraud-models"
RETAIN = timedelta(days=30)


@pytest.fixture
def clients(monkeypatch) -> Iterator[tuple[Any, Any]]:
    import boto3
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        yield s3, sagemaker


def register(sagemaker: Any, version: str) -> str:
    """A package as the Register step makes it: its metadata names the dataset version."""
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [{"Image": "image@sha256:" + "a" * 64, "ModelDataUrl": "s3://b/m"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={"DatasetVersion": version},
    )["ModelPackageArn"]


def drop(s3: Any, name: str) -> str:
    """One raw drop, then the version of all of raw/ as the Dataset step makes it."""
    s3.put_object(Bucket=BUCKET, Key=f"raw/{name}.csv", Body=name.encode())
    return write_version(s3, RAW, DATASETS)["version"]


def tags(s3: Any) -> dict[str, str]:
    """Each retained copy's file name and its retention tag (or "-")."""
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="datasets/objects/")["Contents"]
    found = {}
    for item in listed:
        tagset = s3.get_object_tagging(Bucket=BUCKET, Key=item["Key"])["TagSet"]
        found[item["Key"].rsplit("/", 1)[-1]] = next(
            (t["Value"] for t in tagset if t["Key"] == "retention"), "-"
        )
    return found


def run_sweep(s3: Any, sagemaker: Any, current: str, now: datetime) -> dict[str, Any]:
    return sweep(
        s3,
        sagemaker,
        (BUCKET, "datasets/"),
        group=GROUP,
        current_version=current,
        now=now,
        retain_for=RETAIN,
    )


def test_only_copies_no_registered_version_names_expire_and_only_when_old(clients) -> None:
    s3, sagemaker = clients
    registered = drop(s3, "a")  # version {a}: a package names it
    register(sagemaker, registered)
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/")["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])  # raw/ expired
    drop(s3, "b")  # version {b}: trained, never registered
    current = drop(s3, "c")  # version {b, c}: this run's
    young = run_sweep(s3, sagemaker, current, datetime.now(UTC))
    assert young["swept"] and young["expired"] == 0
    assert set(tags(s3).values()) == {"-"}
    s3.delete_object(Bucket=BUCKET, Key="datasets/retention.json")  # sweep again today
    later = datetime.now(UTC) + RETAIN + timedelta(days=1)
    run_sweep(s3, sagemaker, drop(s3, "d"), later)  # the run after: version {b, c, d}
    assert tags(s3) == {"a.csv": "-", "b.csv": "-", "c.csv": "-", "d.csv": "-"}
    s3.delete_object(Bucket=BUCKET, Key="datasets/retention.json")
    s3.put_object(Bucket=BUCKET, Key="raw/e.csv", Body=b"e")
    for key in ("raw/b.csv", "raw/c.csv", "raw/d.csv"):
        s3.delete_object(Bucket=BUCKET, Key=key)
    run_sweep(s3, sagemaker, write_version(s3, RAW, DATASETS)["version"], later)
    assert tags(s3) == {
        "a.csv": "-",
        "b.csv": "expired",
        "c.csv": "expired",
        "d.csv": "expired",
        "e.csv": "-",
    }


def test_a_version_registered_after_its_copies_were_tagged_is_kept_again(clients) -> None:
    s3, sagemaker = clients
    old = drop(s3, "a")
    s3.delete_object(Bucket=BUCKET, Key="raw/a.csv")
    later = datetime.now(UTC) + RETAIN + timedelta(days=1)
    run_sweep(s3, sagemaker, drop(s3, "b"), later)
    assert tags(s3)["a.csv"] == "expired"
    register(sagemaker, old)  # a late registration, before the lifecycle deleted the copy
    run_sweep(s3, sagemaker, old, later + timedelta(days=1))
    assert tags(s3)["a.csv"] == "kept"


def test_the_sweep_runs_once_a_day_and_describes_each_package_once(clients, monkeypatch) -> None:
    s3, sagemaker = clients
    register(sagemaker, drop(s3, "a"))
    now = datetime.now(UTC)
    described: list[str] = []
    real = sagemaker.describe_model_package
    monkeypatch.setattr(
        sagemaker,
        "describe_model_package",
        lambda **kw: described.append(kw["ModelPackageName"]) or real(**kw),
    )
    first = run_sweep(s3, sagemaker, "v", now)
    again = run_sweep(s3, sagemaker, "v", now + timedelta(hours=1))
    tomorrow = run_sweep(s3, sagemaker, "v", now + timedelta(days=1))
    assert (first["swept"], again["swept"], tomorrow["swept"]) == (True, False, True)
    assert len(described) == 1 and first["registered_versions"] == 1


def test_the_step_sweeps_with_the_group_it_is_given(clients, tmp_path) -> None:
    s3, _ = clients
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"a")
    args = ["--input-uri", RAW, "--datasets-uri", DATASETS, "--out", str(tmp_path)]
    assert main([*args, "--model-package-group", GROUP, "--now", "2026-03-02T10:00:00Z"]) == 0
    document = json.loads((tmp_path / "dataset.json").read_text())
    assert document["retention"]["swept"] is True
    state = json.loads(s3.get_object(Bucket=BUCKET, Key="datasets/retention.json")["Body"].read())
    assert state["last_sweep"] == "2026-03-02T10:00:00+00:00"
