"""The quality step's copy of its cohort's capture: one new hour read per run, same rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml.capture import Window, read_capture
from pipelines.jobs.capture_window import download_window
from pipelines.jobs.quality_cohort import CohortCapture, cache_key
from tests.pipelines.jobs.test_feedback import CAPTURE, MONITORING, H, send_traffic

ENDPOINT = "mlops-prod-endpoint"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=MONITORING)
        for back in range(6, 0, -1):
            send_traffic(client, 30, H - timedelta(hours=back), seed=back)
        bad = f"{CAPTURE}{H - timedelta(hours=3):%Y/%m/%d/%H}/broken.jsonl"
        client.put_object(Bucket=MONITORING, Key=bad, Body=b'{"captureData": \n')
        yield client


def hours(first: int, last: int) -> Window:
    """Hours ``H - first`` up to ``H - last``."""
    return Window(H - timedelta(hours=first), H - timedelta(hours=last))


def cohort(s3: Any, window: Window, work: Path) -> tuple[Any, CohortCapture]:
    copy = CohortCapture(s3, MONITORING, CAPTURE, cache_key(ENDPOINT))
    copy.load()
    batch = copy.read(window, work)
    copy.save()
    return batch, copy


def fresh(s3: Any, window: Window, work: Path) -> Any:
    download_window(s3, MONITORING, CAPTURE, window, work)
    return read_capture(work, window)


def test_the_next_hour_reads_one_file_and_finds_the_rows_a_fresh_read_finds(
    s3, tmp_path: Path
) -> None:
    cohort(s3, hours(6, 2), tmp_path / "first")
    batch, copy = cohort(s3, hours(5, 1), tmp_path / "second")
    assert copy.describe() == {"files_read": 1, "files_from_copy": 4}
    expected = fresh(s3, hours(5, 1), tmp_path / "fresh")
    pd.testing.assert_frame_equal(batch.frame, expected.frame)
    assert batch.summary() == expected.summary() and batch.summary()["malformed_lines"] == 1


def test_a_file_written_again_is_read_again(s3, tmp_path: Path) -> None:
    cohort(s3, hours(6, 2), tmp_path / "first")
    send_traffic(s3, 10, H - timedelta(hours=4), seed=4)  # same key, other content
    batch, copy = cohort(s3, hours(6, 2), tmp_path / "second")
    assert copy.describe() == {"files_read": 1, "files_from_copy": 4}
    assert len(batch.frame) == 3 * 30 + 10  # hours H-6 .. H-3, one of them sent again


def test_an_unreadable_copy_only_means_reading_the_capture_again(s3, tmp_path: Path) -> None:
    cohort(s3, hours(6, 2), tmp_path / "first")
    s3.put_object(Bucket=MONITORING, Key=cache_key(ENDPOINT), Body=b"not parquet")
    batch, copy = cohort(s3, hours(6, 2), tmp_path / "second")
    assert copy.describe() == {"files_read": 5, "files_from_copy": 0}
    pd.testing.assert_frame_equal(batch.frame, fresh(s3, hours(6, 2), tmp_path / "fresh").frame)
