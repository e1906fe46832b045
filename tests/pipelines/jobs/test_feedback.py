"""The feedback job in moto: labelled production traffic lands in raw/ once, and validates.

The step's capture index reads each capture file about once, not once an hour.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml import schema
from ml.capture_writer import capture_line, request_body
from ml.checks import check_file
from ml.data import generate
from pipelines.jobs.dataset import write_version
from pipelines.jobs.feedback import LANDED, NO_LABELS, main, run_feedback
from pipelines.jobs.feedback_capture import INDEX_FILE, digest, digests
from pipelines.jobs.feedback_ledger import entry_key, raw_key
from pipelines.jobs.feedback_rows import row_id

MONITORING = "mlops-prod-monitoring-123456789012-us-east-1"
DATA = "mlops-prod-data-123456789012-us-east-1"
ENDPOINT = "mlops-prod-endpoint"
CAPTURE = f"data-capture/{ENDPOINT}/primary/"
LABELS = f"labels/{ENDPOINT}/"
LEDGER = f"feedback/{ENDPOINT}/"
H = datetime(2026, 3, 2, 9, tzinfo=UTC)  # the hour the first labels arrive


class S3Clock:
    """moto stamps ``LastModified`` with its own clock; the test moves it as time passes."""

    def __init__(self) -> None:
        self.now = H

    def __call__(self) -> datetime:
        return self.now.replace(tzinfo=None)  # moto keeps naive UTC


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> S3Clock:
    import moto.s3.models

    clock = S3Clock()
    monkeypatch.setattr(moto.s3.models, "utcnow", clock)
    return clock


@pytest.fixture
def s3(clock: S3Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (MONITORING, DATA):
            client.create_bucket(Bucket=bucket)
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        yield client


def send_traffic(s3: Any, rows: int, start: datetime, seed: int = 7) -> pd.DataFrame:
    """Requests of one row each, captured as the endpoint writes them; returns their labels."""
    frame = generate(rows, seed)
    records = frame.loc[:, list(schema.FEATURE_COLUMNS)].astype(object).values.tolist()
    lines: dict[str, list[str]] = {}
    ids = []
    for number, record in enumerate(records):
        when = start + timedelta(seconds=30 * number)
        event_id = str(uuid.UUID(int=seed * 1_000_000 + number, version=4))
        body = request_body([record], "text/csv")
        line = capture_line(body, "text/csv", "0.1,0\n", "text/csv", event_id, when)
        lines.setdefault(f"{when:%Y/%m/%d/%H}", []).append(line)
        ids.append(event_id)
    for hour, hour_lines in lines.items():
        key = f"{CAPTURE}{hour}/{seed:04d}.jsonl"
        s3.put_object(Bucket=MONITORING, Key=key, Body="".join(f"{x}\n" for x in hour_lines))
    return pd.DataFrame({"event_id": ids, "is_fraud": frame[schema.LABEL_COLUMN].to_numpy()})


def send_labels(s3: Any, clock: S3Clock, labels: pd.DataFrame, at: datetime, name: str) -> None:
    clock.now = at
    s3.put_object(Bucket=MONITORING, Key=f"{LABELS}{name}.csv", Body=labels.to_csv(index=False))


def args(now: datetime, **changes: Any) -> argparse.Namespace:
    values = {
        "endpoint": ENDPOINT,
        "bucket": MONITORING,
        "capture_prefix": CAPTURE,
        "labels_prefix": LABELS,
        "ledger_prefix": LEDGER,
        "data_bucket": DATA,
        "lookback_hours": 168,
        "catch_up_hours": 24,
        "now": now,
        "out": Path("unused"),
    }
    values.update(changes)
    return argparse.Namespace(**values)


def run(s3: Any, now: datetime, tmp_path: Path, **changes: Any) -> dict[str, Any]:
    work = tmp_path / f"work-{now:%d%H%M}"
    work.mkdir(exist_ok=True)
    return run_feedback(args(now, **changes), s3=s3, sagemaker=None, cloudwatch=None, work=work)


def drop(s3: Any, hour: datetime) -> pd.DataFrame:
    body = s3.get_object(Bucket=DATA, Key=raw_key(ENDPOINT, hour))["Body"].read()
    return pd.read_csv(io.BytesIO(body))


def versions(s3: Any, key: str) -> int:
    return len(s3.list_object_versions(Bucket=DATA, Prefix=key).get("Versions", []))


def test_labels_that_arrived_become_one_drop_of_schema_rows_that_validates(
    s3, clock, tmp_path
) -> None:
    labels = send_traffic(s3, 300, H - timedelta(hours=3))
    send_labels(s3, clock, labels.iloc[:200], H + timedelta(minutes=20), "first")
    report = run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    assert report["status"] == LANDED and report["landed_rows"] == 200
    rows = drop(s3, H)
    assert list(rows.columns) == list(schema.COLUMNS)
    first = labels.iloc[:200]
    expected = {row_id(e, 0): y for e, y in zip(first["event_id"], first["is_fraud"], strict=True)}
    assert dict(zip(rows[schema.ID_COLUMN], rows[schema.LABEL_COLUMN], strict=True)) == expected
    local = tmp_path / "drop.csv"
    local.write_bytes(s3.get_object(Bucket=DATA, Key=raw_key(ENDPOINT, H))["Body"].read())
    assert check_file(local).failures == []
    entry = json.loads(s3.get_object(Bucket=MONITORING, Key=entry_key(LEDGER, H))["Body"].read())
    landed = entry["landed"]
    assert (
        landed["version_id"] == s3.head_object(Bucket=DATA, Key=raw_key(ENDPOINT, H))["VersionId"]
    )
    assert entry["checks_failed"] == [] and entry["join"]["matched"] == 200


def test_a_repeated_run_lands_nothing_and_writes_nothing(s3, clock, tmp_path) -> None:
    labels = send_traffic(s3, 50, H - timedelta(hours=1))
    send_labels(s3, clock, labels, H + timedelta(minutes=1), "a")
    now = H + timedelta(hours=1, minutes=5)
    first, again = run(s3, now, tmp_path), run(s3, now, tmp_path)
    assert first["landed_rows"] == 50
    assert again["status"] == "up_to_date" and again["windows"] == []
    assert versions(s3, raw_key(ENDPOINT, H)) == 1


def test_a_label_sent_again_later_lands_its_row_once(s3, clock, tmp_path) -> None:
    labels = send_traffic(s3, 80, H - timedelta(hours=2))
    send_labels(s3, clock, labels.iloc[:60], H + timedelta(minutes=10), "monday")
    run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    # An hour later the producer re-sends everything, with 20 labels that are new.
    send_labels(s3, clock, labels, H + timedelta(hours=1, minutes=10), "resend")
    report = run(s3, H + timedelta(hours=2, minutes=5), tmp_path)
    assert report["landed_rows"] == 20
    later = drop(s3, H + timedelta(hours=1))
    assert set(later[schema.ID_COLUMN]).isdisjoint(set(drop(s3, H)[schema.ID_COLUMN]))
    assert len(later) + len(drop(s3, H)) == 80


def test_duplicated_capture_lines_and_labels_land_one_row_each(s3, clock, tmp_path) -> None:
    labels = send_traffic(s3, 40, H - timedelta(hours=1))
    again = s3.get_object(
        Bucket=MONITORING, Key=f"{CAPTURE}{H - timedelta(hours=1):%Y/%m/%d/%H}/0007.jsonl"
    )
    s3.put_object(  # the endpoint delivered the same capture file twice
        Bucket=MONITORING,
        Key=f"{CAPTURE}{H - timedelta(hours=1):%Y/%m/%d/%H}/copy.jsonl",
        Body=again["Body"].read(),
    )
    send_labels(s3, clock, pd.concat([labels, labels]), H + timedelta(minutes=5), "twice")
    report = run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    assert report["landed_rows"] == 40
    assert drop(s3, H)[schema.ID_COLUMN].is_unique


def test_missed_runs_are_caught_up_oldest_first(s3, clock, tmp_path) -> None:
    labels = send_traffic(s3, 60, H - timedelta(hours=4))
    send_labels(s3, clock, labels.iloc[:30], H + timedelta(minutes=5), "first")
    send_labels(s3, clock, labels.iloc[30:], H + timedelta(hours=1, minutes=5), "second")
    report = run(s3, H + timedelta(hours=3, minutes=5), tmp_path)
    landed = [w for w in report["windows"] if w["status"] == LANDED]
    assert [w["window"]["start"] for w in landed] == [
        H.isoformat(),
        (H + timedelta(hours=1)).isoformat(),
    ]
    assert report["landed_rows"] == 60
    assert {w["status"] for w in report["windows"]} == {LANDED, NO_LABELS}


def test_a_run_that_died_after_landing_rebuilds_its_entry_without_writing_again(
    s3, clock, tmp_path
) -> None:
    labels = send_traffic(s3, 30, H - timedelta(hours=1))
    send_labels(s3, clock, labels, H + timedelta(minutes=5), "a")
    now = H + timedelta(hours=1, minutes=5)
    run(s3, now, tmp_path)
    # The run died after landing the drop, before saving the ledger.
    s3.delete_object(Bucket=MONITORING, Key=f"{LEDGER}ledger.json")
    report = run(s3, now, tmp_path)
    window = report["windows"][-1]
    assert window["landed"]["written"] is False and window["landed"]["rows"] == 30
    assert versions(s3, raw_key(ENDPOINT, H)) == 1


def test_a_label_file_that_cannot_be_read_is_named_and_the_others_land(s3, clock, tmp_path) -> None:
    labels = send_traffic(s3, 20, H - timedelta(hours=1))
    send_labels(s3, clock, labels, H + timedelta(minutes=5), "good")
    send_labels(s3, clock, pd.DataFrame({"id": [1], "label": [3]}), H + timedelta(minutes=6), "bad")
    report = run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    window = report["windows"][-1]
    assert report["landed_rows"] == 20
    assert [r["key"] for r in window["refused_label_files"]] == [f"{LABELS}bad.csv"]
    assert "event_id" in window["refused_label_files"][0]["reason"]


def test_labels_older_than_the_look_back_find_nothing_to_land(s3, clock, tmp_path) -> None:
    labels = send_traffic(s3, 20, H - timedelta(hours=30))
    send_labels(s3, clock, labels, H + timedelta(minutes=5), "late")
    report = run(s3, H + timedelta(hours=1, minutes=5), tmp_path, lookback_hours=24)
    window = report["windows"][-1]
    assert report["landed_rows"] == 0 and window["join"]["unmatched_labels"] == 20


def test_the_dataset_step_versions_the_drop_like_any_other(s3, clock, tmp_path) -> None:
    s3.put_object(Bucket=DATA, Key="raw/2026/03/01/upstream.csv", Body=b"from a producer")
    labels = send_traffic(s3, 25, H - timedelta(hours=1))
    send_labels(s3, clock, labels, H + timedelta(minutes=5), "a")
    run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    found = write_version(s3, f"s3://{DATA}/raw/", f"s3://{DATA}/datasets/")
    record = json.loads(
        s3.get_object(Bucket=DATA, Key=found["record_uri"].split(f"{DATA}/")[1])["Body"].read()
    )
    assert {o["key"] for o in record["objects"]} == {
        "2026/03/01/upstream.csv",
        raw_key(ENDPOINT, H).removeprefix("raw/"),
    }


def test_the_step_publishes_its_heartbeat_even_when_nothing_landed(s3, clock, tmp_path) -> None:
    import boto3

    send_traffic(s3, 10, H - timedelta(hours=1))
    out = tmp_path / "feedback.json"
    argv = [
        "--endpoint", ENDPOINT, "--bucket", MONITORING, "--capture-prefix", CAPTURE,
        "--labels-prefix", LABELS, "--ledger-prefix", LEDGER, "--data-bucket", DATA,
        "--now", (H + timedelta(hours=1, minutes=5)).isoformat(), "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(out.read_text())["landed_rows"] == 0
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    listed = cloudwatch.list_metrics(Namespace="mlops/monitoring", MetricName="RowsRead")
    assert [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in listed["Metrics"]] == [
        {"Endpoint": ENDPOINT, "Job": "feedback"}
    ]


def index_of(s3: Any) -> dict[str, Any]:
    body = s3.get_object(Bucket=MONITORING, Key=f"{LEDGER}{INDEX_FILE}")["Body"].read()
    return dict(json.loads(gzip.decompress(body))["files"])


def count_gets(s3: Any) -> list[str]:
    """The keys of every GetObject the client sends from now on."""
    keys: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: keys.append(params["Key"])
    )
    return keys


def hours_of_traffic(s3: Any, hours: int) -> list[pd.DataFrame]:
    """One capture file per hour for ``hours`` hours before H; each hour's labels."""
    return [
        send_traffic(s3, 20, H - timedelta(hours=back), seed=back) for back in range(hours, 0, -1)
    ]


def test_a_windows_labels_read_only_the_capture_files_that_hold_their_events(
    s3, clock, tmp_path
) -> None:
    labels = hours_of_traffic(s3, 12)
    send_labels(s3, clock, labels[3], H + timedelta(minutes=5), "one-hour")
    gets = count_gets(s3)
    report = run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    assert report["landed_rows"] == 20 and report["windows"][-1]["join"]["capture_files"] == 1
    assert sum(key.startswith(CAPTURE) for key in gets) == 12  # each file once: indexed, joined
    assert len(index_of(s3)) == 12
    # The next hour: one new capture file is indexed; the labels name two hours.
    send_traffic(s3, 20, H, seed=99)
    later = pd.concat([labels[5], labels[8]])
    send_labels(s3, clock, later, H + timedelta(hours=1, minutes=5), "b")
    gets.clear()
    report = run(s3, H + timedelta(hours=2, minutes=5), tmp_path)
    assert report["landed_rows"] == 40 and report["windows"][-1]["join"]["capture_files"] == 2
    assert sum(key.startswith(CAPTURE) for key in gets) == 3
    assert report["capture"]["newly_indexed"] == 1 and report["capture"]["indexed_files"] == 13


def test_a_lost_or_unreadable_index_is_rebuilt_and_rows_still_land_once(
    s3, clock, tmp_path
) -> None:
    labels = hours_of_traffic(s3, 3)
    send_labels(s3, clock, labels[0].iloc[:10], H + timedelta(minutes=5), "a")
    run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    s3.put_object(Bucket=MONITORING, Key=f"{LEDGER}{INDEX_FILE}", Body=b"not gzip")
    send_labels(s3, clock, labels[0], H + timedelta(hours=1, minutes=5), "again")
    report = run(s3, H + timedelta(hours=2, minutes=5), tmp_path)
    assert report["capture"]["newly_indexed"] == 3 and report["landed_rows"] == 10
    assert set(drop(s3, H + timedelta(hours=1))["transaction_id"]).isdisjoint(
        drop(s3, H)["transaction_id"]
    )


def test_files_that_left_the_look_back_leave_the_index(s3, clock, tmp_path) -> None:
    labels = hours_of_traffic(s3, 30)
    send_labels(s3, clock, labels[-1], H + timedelta(minutes=5), "a")
    run(s3, H + timedelta(hours=1, minutes=5), tmp_path, lookback_hours=24, catch_up_hours=1)
    hours = sorted(key.removeprefix(CAPTURE)[:13] for key in index_of(s3))
    # The window H's look-back is [H - 23 h, H + 1 h): capture of H - 23 h .. H - 1 h.
    assert hours == [f"{H - timedelta(hours=back):%Y/%m/%d/%H}" for back in range(23, 0, -1)]


def test_an_index_entry_holds_each_event_ids_digest() -> None:
    ids = ["a", "b", "c"]
    entry = "".join(digest(i) for i in ids)
    assert digests(entry) == [digest(i) for i in ids] and len(entry) == 24
    assert digest("a") != digest("b")


def test_of_a_file_only_the_lines_of_labelled_events_are_read(s3, clock, tmp_path) -> None:
    labels = hours_of_traffic(s3, 2)
    send_labels(s3, clock, labels[0].iloc[[2, 5, 11]], H + timedelta(minutes=5), "three")
    report = run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    assert report["landed_rows"] == 3
    assert (report["capture"]["files"], report["capture"]["rows"]) == (1, 3)


def test_a_capture_file_that_is_not_utf8_indexes_no_line_and_the_rest_land(
    s3, clock, tmp_path
) -> None:
    labels = hours_of_traffic(s3, 1)
    key = f"{CAPTURE}{H - timedelta(hours=1):%Y/%m/%d/%H}/garbled.jsonl"
    s3.put_object(Bucket=MONITORING, Key=key, Body=b"\xff\xfe not utf-8\n")
    send_labels(s3, clock, labels[0], H + timedelta(minutes=5), "a")
    report = run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    assert report["landed_rows"] == 20 and index_of(s3)[key]["events"] == ""
