"""The Features step: Feature Store records, the sink, the split and the report."""

from __future__ import annotations

import io
import json

import pandas as pd

from ml import schema
from ml.data import generate
from ml.io import write_table
from pipelines.jobs.features import (
    feature_definitions,
    feature_store_sink,
    run_features,
    to_records,
)


def test_definitions_cover_every_schema_column_with_a_feature_store_type() -> None:
    definitions = feature_definitions()
    assert [d["FeatureName"] for d in definitions] == list(schema.COLUMNS)
    assert {d["FeatureType"] for d in definitions} == {"Integral", "Fractional", "String"}


def test_records_carry_iso_event_times_and_plain_numbers() -> None:
    frame = generate(3, seed=1)
    record = {f["FeatureName"]: f["ValueAsString"] for f in to_records(frame)[0]}
    assert set(record) == set(schema.COLUMNS)
    assert pd.Timestamp(record["event_time"]).tzinfo is not None
    assert record["event_time"].endswith("Z")
    assert record["hour"] == str(int(frame["hour"].iloc[0]))
    assert record["is_fraud"] in {"0", "1"}


def test_the_sink_puts_every_record_into_the_group() -> None:
    # moto has no Feature Store runtime (PutRecord), so botocore's Stubber stands in for it.
    # The puts run on threads, so the stub checks shapes (botocore validates every request
    # against the service model) and the count rather than the order of the records.
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1")
    sink = feature_store_sink("mlops-dev-transactions-v1", client=client)
    records = to_records(generate(4, seed=2))
    with Stubber(client) as stub:
        for _ in records:
            stub.add_response("put_record", {}, None)
        assert sink(records) == 4
        stub.assert_no_pending_responses()


def test_run_features_splits_by_time_and_reports_the_data_hash(tmp_path) -> None:
    frame = generate(500, seed=3)
    write_table(frame, tmp_path / "in" / "part.csv")
    seen: list[int] = []
    report = run_features(
        tmp_path / "in",
        tmp_path / "out",
        lambda records: seen.append(len(records)) or len(records),
        "group",
    )
    assert seen == [500] and report["ingested"] == 500
    assert report["train_rows"] == 400 and report["test_rows"] == 100
    assert len(report["data_sha256"]) == 64
    train = pd.read_parquet(tmp_path / "out" / "train" / "train.parquet")
    test = pd.read_parquet(tmp_path / "out" / "test" / "test.parquet")
    assert train["event_time"].max() <= test["event_time"].min()
    written = json.loads((tmp_path / "out" / "report" / "features.json").read_text())
    assert written == report


def test_a_local_run_writes_the_records_to_the_offline_store_prefix(tmp_path, monkeypatch) -> None:
    # moto has no PutRecord: the local runner sets the variable, the step writes to S3 instead.
    import boto3
    from moto import mock_aws

    from pipelines.jobs.features import OFFLINE_RECORDS_ENV, main

    write_table(generate(50, seed=4), tmp_path / "in" / "part.csv")
    uri = "s3://data/feature-store/group/local/exec-1.parquet"
    monkeypatch.setenv(OFFLINE_RECORDS_ENV, uri)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="data")
        argv = ["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]
        assert main([*argv, "--feature-group", "group"]) == 0
        body = s3.get_object(Bucket="data", Key="feature-store/group/local/exec-1.parquet")["Body"]
        records = pd.read_parquet(io.BytesIO(body.read()))
    assert len(records) == 50 and set(records.columns) == set(schema.COLUMNS)
