"""The monitoring jobs' edges in moto: the window's keys, the model artifact, what is published."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml.capture import Window
from ml.errors import MlopsError
from ml.model_artifact import BASELINE_FILE, METADATA_FILE, TARBALL, pack
from pipelines.jobs.capture_window import (
    ServingModelError,
    download_window,
    fetch_model_files,
    hour_prefixes,
)
from pipelines.jobs.quality import NO_LABELS, TOO_FEW_LABELS, run_quality_job
from pipelines.jobs.quality_publish import quality_metric_data
from pipelines.metrics import QUALITY_NAMESPACE

BUCKET = "mlops-prod-monitoring"
PREFIX = "data-capture/mlops-prod-endpoint/primary/"
WINDOW = Window(datetime(2026, 1, 1, 9, tzinfo=UTC), datetime(2026, 1, 1, 11, tzinfo=UTC))


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_a_window_lists_one_prefix_per_hour_it_overlaps() -> None:
    window = Window(datetime(2026, 1, 1, 23, 30, tzinfo=UTC), datetime(2026, 1, 2, 1, tzinfo=UTC))
    assert hour_prefixes(PREFIX, window) == [f"{PREFIX}2026/01/01/23/", f"{PREFIX}2026/01/02/00/"]


def test_only_the_windows_hours_are_downloaded_in_their_layout(s3, tmp_path: Path) -> None:
    for hour in ("08", "09", "10", "11"):
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026/01/01/{hour}/a.jsonl", Body=b"{}\n")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026/01/01/09/notes.txt", Body=b"x")
    files = download_window(s3, BUCKET, PREFIX, WINDOW, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "2026/01/01/09/a.jsonl",
        "2026/01/01/10/a.jsonl",
    ]


def calls(s3: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every ``operation`` the client sends from now on."""
    sent: list[dict[str, Any]] = []
    s3.meta.events.register(
        f"provide-client-params.s3.{operation}", lambda params, **_: sent.append(dict(params))
    )
    return sent


def test_a_window_is_one_listing_that_stops_after_its_last_hour(s3, tmp_path: Path) -> None:
    for hour in range(24):
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026/01/01/{hour:02d}/a.jsonl", Body=b"{}\n")
    for number in range(1001):  # more than a page, all after the window
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026/01/02/00/{number:04d}.jsonl", Body=b"")
    listings, heads = calls(s3, "ListObjectsV2"), calls(s3, "HeadObject")
    window = Window(datetime(2026, 1, 1, 0, tzinfo=UTC), datetime(2026, 1, 2, 0, tzinfo=UTC))
    files = download_window(s3, BUCKET, PREFIX, window, tmp_path)
    assert len(files) == 24 and len(listings) == 1 and heads == []
    assert listings[0]["StartAfter"] == f"{PREFIX}2026/01/01/00"


def test_a_model_artifact_without_a_baseline_is_one_clear_line(s3, tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / METADATA_FILE).write_text("{}")
    archive = pack(tmp_path / "model", tmp_path / "artifact" / TARBALL)
    s3.upload_file(str(archive), BUCKET, TARBALL)
    with pytest.raises(ServingModelError, match=rf"has no {re.escape(BASELINE_FILE)}; retrain"):
        fetch_model_files(s3, f"s3://{BUCKET}/{TARBALL}", tmp_path / "fetched")


def _quality_args(**changes: Any) -> argparse.Namespace:
    values = {
        "bucket": BUCKET,
        "capture_prefix": PREFIX,
        "labels_prefix": "labels/mlops-prod-endpoint/",
        "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        "window_hours": 2.0,
        "now": datetime(2026, 1, 1, 11, 5, tzinfo=UTC),
        "label_delay_hours": 0.0,
        "min_labelled_rows": 1,
        "min_positives": 5,
        "min_segment_positives": 5,
        "min_label_coverage": 0.0,
        "endpoint": "mlops-prod-endpoint",
        "variant": "primary",
    }
    values.update(changes)
    return argparse.Namespace(**values)


def _capture_line(event_id: str) -> str:
    """One captured CSV request of a generated transaction, answered with a fraud score."""
    from ml import schema
    from ml.capture_writer import capture_line, request_body
    from ml.data import generate

    row = generate(1, seed=3).loc[0, list(schema.FEATURE_COLUMNS)].tolist()
    request = request_body([[v.item() if hasattr(v, "item") else v for v in row]], "text/csv")
    when = datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
    return capture_line(request, "text/csv", "0.9,1\n", "text/csv", event_id, when)


def test_quality_without_label_files_reports_no_labels(s3, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026/01/01/10/a.jsonl", Body=_capture_line("e1"))
    result = run_quality_job(_quality_args(), s3=s3, sagemaker=None, cloudwatch=None, work=tmp_path)
    assert (result["status"], result["published"]) == (NO_LABELS, 0)


class RecordingCloudWatch:
    """Keeps each ``put_metric_data`` request."""

    def __init__(self) -> None:
        self.data: list[dict[str, Any]] = []

    def put_metric_data(self, **request: Any) -> None:
        self.data += request["MetricData"]


def test_quality_with_fewer_labels_than_the_minimum_publishes_only_its_coverage(
    s3, tmp_path: Path
) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026/01/01/10/a.jsonl", Body=_capture_line("e1"))
    s3.put_object(
        Bucket=BUCKET, Key="labels/mlops-prod-endpoint/l.csv", Body=b"event_id,is_fraud\ne1,1\n"
    )
    cloudwatch = RecordingCloudWatch()
    result = run_quality_job(
        _quality_args(min_labelled_rows=10),
        s3=s3,
        sagemaker=None,
        cloudwatch=cloudwatch,
        work=tmp_path,
    )
    assert (result["status"], result["join"]["matched"]) == (TOO_FEW_LABELS, 1)
    published = {d["MetricName"]: d["Value"] for d in cloudwatch.data}
    assert published == {"LabelledRows": 1.0, "LabelledPositives": 1.0, "LabelCoverage": 1.0}


def test_undefined_quality_values_are_not_published() -> None:
    report = {
        "summary": {"precision": 0.5, "recall": 0.25, "pr_auc": float("nan")},
        "rows": 40,
        "bias": {
            "recall_gap": {"value": None},
            "segments": {"travel": {"recall": 0.5}, "grocery": {"recall": None}},
        },
    }
    data = quality_metric_data(report, endpoint="e", variant="primary")
    names = sorted((d["MetricName"], *(x["Value"] for x in d["Dimensions"][2:])) for d in data)
    assert names == [
        ("LabelledRows",),
        ("Precision",),
        ("Recall",),
        ("SegmentRecall", "travel"),
    ]
    assert QUALITY_NAMESPACE == "mlops/quality"
    assert data[0]["Dimensions"][:2] == [
        {"Name": "Endpoint", "Value": "e"},
        {"Name": "Variant", "Value": "primary"},
    ]


def test_a_window_of_only_malformed_lines_fails_the_drift_job(s3, tmp_path: Path) -> None:
    from pipelines.jobs.drift import run_drift_job

    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026/01/01/10/a.jsonl", Body=b"not json\n")
    args = argparse.Namespace(
        bucket=BUCKET,
        capture_prefix=PREFIX,
        window_hours=2.0,
        now=datetime(2026, 1, 1, 11, 5, tzinfo=UTC),
        model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
    )
    with pytest.raises(MlopsError, match="none of 1 capture lines in the window could be read"):
        run_drift_job(args, s3=s3, sagemaker=None, cloudwatch=None, work=tmp_path)


def test_an_unknown_model_package_is_one_line_and_exit_1(s3, tmp_path: Path, capsys) -> None:
    from pipelines.jobs.drift import main

    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026/01/01/10/a.jsonl", Body=_capture_line("e1"))
    code = main(
        [
            "--stack=prod",
            "--endpoint=mlops-prod-endpoint",
            f"--bucket={BUCKET}",
            f"--capture-prefix={PREFIX}",
            "--model-package-arn=arn:aws:sagemaker:us-east-1:123456789012:model-package/g/9",
            "--now=2026-01-01T11:05:00Z",
            f"--out={tmp_path / 'drift.json'}",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "drift.json").exists()


def test_label_files_written_before_the_window_began_are_not_read(s3, tmp_path: Path) -> None:
    from pipelines.jobs.capture_window import download_tables

    s3.put_object(Bucket=BUCKET, Key="labels/e/day-1.csv", Body=b"event_id,is_fraud\ne1,1\n")
    written = datetime.now(UTC)
    later = download_tables(
        s3, BUCKET, "labels/e/", tmp_path / "a", since=written + timedelta(hours=1)
    )
    earlier = download_tables(
        s3, BUCKET, "labels/e/", tmp_path / "b", since=written - timedelta(hours=1)
    )
    assert (later, [p.name for p in earlier]) == ([], ["day-1.csv"])
