"""Dataset versions (moto S3): content-addressed manifests the pipeline's cache keys on, of
retained copies that outlive ``raw/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ops.local.emulator import download_manifest
from pipelines.jobs.dataset import main, write_version

BUCKET = "mlops-dev-data-123456789012-us-east-1"
RAW = f"s3://{BUCKET}/raw/"
DATASETS = f"s3://{BUCKET}/datasets/"


@pytest.fixture
def s3(monkeypatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        # Every stack bucket is versioned (infra/components/storage.py).
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def read_json(s3: Any, uri: str) -> Any:
    key = uri.removeprefix(f"s3://{BUCKET}/")
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_same_data_gives_the_same_manifest_uri(s3) -> None:
    put(s3, "raw/a.csv", b"a\n1\n")
    put(s3, "raw/2026/b.csv", b"a\n2\n")
    first = write_version(s3, RAW, DATASETS)
    second = write_version(s3, RAW, DATASETS)
    assert first == second
    assert first["manifest_uri"] == f"{DATASETS}{first['version']}/manifest.json"


def test_a_new_file_or_changed_bytes_make_a_new_version(s3) -> None:
    put(s3, "raw/a.csv", b"a\n1\n")
    base = write_version(s3, RAW, DATASETS)["version"]
    put(s3, "raw/b.csv", b"a\n2\n")
    added = write_version(s3, RAW, DATASETS)["version"]
    put(s3, "raw/b.csv", b"a\n3\n")
    changed = write_version(s3, RAW, DATASETS)["version"]
    assert len({base, added, changed}) == 3


def sha(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()


def test_manifest_is_sagemakers_format_prefix_first_then_relative_keys(s3) -> None:
    put(s3, "raw/z.csv", b"z")
    put(s3, "raw/2026/a.csv", b"a")
    found = write_version(s3, RAW, DATASETS)
    # The relative keys name the retained copies: objects/<sha256>/<key below raw/>.
    assert read_json(s3, found["manifest_uri"]) == [
        {"prefix": DATASETS},
        f"objects/{sha(b'a')}/2026/a.csv",
        f"objects/{sha(b'z')}/z.csv",
    ]


def test_record_lists_every_key_with_its_size_sha256_and_s3_version_id(s3) -> None:
    put(s3, "raw/a.csv", b"hello")
    version_id = s3.head_object(Bucket=BUCKET, Key="raw/a.csv")["VersionId"]
    record = read_json(s3, write_version(s3, RAW, DATASETS)["record_uri"])
    assert record["objects"] == [
        {
            "key": "a.csv",
            "size": 5,
            "sha256": sha(b"hello"),
            "version_id": version_id,
            "retained_key": f"objects/{sha(b'hello')}/a.csv",
        }
    ]


def test_quarantined_files_are_not_part_of_a_version(s3) -> None:
    put(s3, "raw/a.csv", b"a")
    clean = write_version(s3, RAW, DATASETS)
    put(s3, "raw/quarantine/run-1/bad.csv", b"bad")
    assert write_version(s3, RAW, DATASETS) == clean


def test_the_runner_downloads_exactly_the_manifests_objects(s3, tmp_path) -> None:
    put(s3, "raw/2026/a.csv", b"a")
    found = write_version(s3, RAW, DATASETS)
    put(s3, "raw/late.csv", b"arrived after the version")
    assert download_manifest(s3, found["manifest_uri"], tmp_path) == 1
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv")) == [
        f"objects/{sha(b'a')}/2026/a.csv"
    ]


def test_a_version_gives_its_bytes_back_after_raw_expires_or_is_overwritten(s3, tmp_path) -> None:
    put(s3, "raw/a.csv", b"first bytes")
    put(s3, "raw/b.csv", b"other")
    found = write_version(s3, RAW, DATASETS)
    put(s3, "raw/a.csv", b"a producer overwrote the key")
    # Lifecycle expiration of raw/: a delete marker on every current version.
    for key in ("raw/a.csv", "raw/b.csv"):
        s3.delete_object(Bucket=BUCKET, Key=key)
    assert download_manifest(s3, found["manifest_uri"], tmp_path) == 2
    record = read_json(s3, found["record_uri"])
    for item in record["objects"]:
        assert sha((tmp_path / item["retained_key"]).read_bytes()) == item["sha256"]


def test_an_object_already_retained_is_not_copied_again(s3) -> None:
    put(s3, "raw/a.csv", b"a")
    write_version(s3, RAW, DATASETS)
    put(s3, "raw/b.csv", b"b")
    write_version(s3, RAW, DATASETS)
    copies = s3.list_object_versions(Bucket=BUCKET, Prefix="datasets/objects/")["Versions"]
    assert sorted(v["Key"] for v in copies) == sorted(
        [f"datasets/objects/{sha(b'a')}/a.csv", f"datasets/objects/{sha(b'b')}/b.csv"]
    )


def test_a_copy_carries_no_tag_of_the_producer(s3) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"a", Tagging="retention=expired")
    write_version(s3, RAW, DATASETS)
    copy = f"datasets/objects/{sha(b'a')}/a.csv"
    assert s3.get_object_tagging(Bucket=BUCKET, Key=copy)["TagSet"] == []


def test_step_writes_the_property_file_validate_reads(s3, tmp_path, capsys) -> None:
    put(s3, "raw/a.csv", b"a")
    assert main(["--input-uri", RAW, "--datasets-uri", DATASETS, "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "dataset.json").read_text())
    assert document["manifest_uri"].endswith(f"/{document['version']}/manifest.json")
    assert document["objects"] == 1
    assert document["run_kind"] == "manual"


def test_step_records_who_started_the_run(s3, tmp_path) -> None:
    put(s3, "raw/a.csv", b"a")
    args = ["--input-uri", RAW, "--datasets-uri", DATASETS, "--out", str(tmp_path)]
    assert main([*args, "--run-kind", "scheduled"]) == 0
    assert json.loads((tmp_path / "dataset.json").read_text())["run_kind"] == "scheduled"


def test_an_empty_prefix_is_one_clear_line(s3, tmp_path, capsys) -> None:
    code = main(["--input-uri", RAW, "--datasets-uri", DATASETS, "--out", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"error: no data files under {RAW}; upload the raw files there first"
    )
