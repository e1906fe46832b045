"""The pipeline's Features step: ingest validated records into the Feature Store, split train/test.

``python3 -m pipelines.jobs.features`` is a SageMaker processing entry point (it ships
in the project image next to ``ml/``). It reads the validated files, puts
every record into the feature group (the offline store follows on its own),
holds out the latest share of rows by event time as the test split, and writes
``features.json`` with the data's sha256, which the register step records.

Memory stays bounded however large the drop (``pipelines/jobs/split_writer.py``):
the files are read in batches and converted with Validate's own conversion
(``ml.conform``), records go to the sink a few thousand at a time, and the
split takes two passes, the first over the event times only (8 bytes a row),
so train and test are written batch by batch.

One switch exists for local runs only: the emulator has no Feature Store
runtime (``PutRecord``), so ``mlops pipeline run-local`` sets
``MLOPS_LOCAL_OFFLINE_RECORDS_URI`` and the records go to that S3 object in the
offline-store prefix instead. The deployed definition never sets it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml import schema

if TYPE_CHECKING:
    import pandas as pd

TEST_SHARE = 0.2
PUT_WORKERS = 8
RECORDS_AT_ONCE = 10_000  # rows turned into Feature Store records at a time (about 30 MB)
Record = list[dict[str, str]]
Sink = Callable[[list[Record]], int]
# Set by the local runner only (never in the pipeline definition): where records go instead.
OFFLINE_RECORDS_ENV = "MLOPS_LOCAL_OFFLINE_RECORDS_URI"


def feature_definitions() -> list[dict[str, str]]:
    """Feature Store types of the schema's columns, in schema order."""
    integral = {schema.ID_COLUMN, schema.LABEL_COLUMN, *schema.INTEGER_FEATURES}
    definitions = []
    for column in schema.COLUMNS:
        if column in integral:
            kind = "Integral"
        elif column in schema.NUMERIC_FEATURES:
            kind = "Fractional"
        else:
            kind = "String"
        definitions.append({"FeatureName": column, "FeatureType": kind})
    return definitions


def to_records(frame: pd.DataFrame) -> list[Record]:
    """Rows as Feature Store records: every value a string, event time in ISO 8601 UTC."""
    import pandas as pd

    times = pd.to_datetime(frame[schema.TIME_COLUMN], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    columns = [c for c in schema.COLUMNS if c in frame.columns and c != schema.TIME_COLUMN]
    # Column by column as Python values (``tolist``), each turned to text once.
    texts = [
        [None if _missing(value) else _text(value) for value in frame[name].tolist()]
        for name in columns
    ]
    records: list[Record] = []
    for time_value, *values in zip(times.tolist(), *texts, strict=True):
        record = [{"FeatureName": schema.TIME_COLUMN, "ValueAsString": time_value}]
        record += [
            {"FeatureName": name, "ValueAsString": text}
            for name, text in zip(columns, values, strict=True)
            if text is not None
        ]
        records.append(record)
    return records


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def feature_store_sink(feature_group: str, region: str | None = None, client: Any = None) -> Sink:
    """Put records into the feature group through the Feature Store runtime API."""
    if client is None:
        import boto3

        client = boto3.client("sagemaker-featurestore-runtime", region_name=region)

    def put(records: list[Record]) -> int:
        def one(record: Record) -> None:
            client.put_record(FeatureGroupName=feature_group, Record=record)

        with ThreadPoolExecutor(PUT_WORKERS) as pool:
            list(pool.map(one, records))
        return len(records)

    return put


@contextmanager
def offline_records_sink(uri: str, client: Any = None) -> Iterator[Sink]:
    """Gather the records in one Parquet object at ``uri``, uploaded when the step succeeds.

    Local runs only (the emulator has no PutRecord). The records are appended to a
    local Parquet file batch by batch, so they never all sit in memory.
    """
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    if client is None:
        import boto3

        client = boto3.client("s3")
    names = [schema.TIME_COLUMN, *(c for c in schema.COLUMNS if c != schema.TIME_COLUMN)]
    record_schema = pa.schema([(name, pa.string()) for name in names])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.parquet"
        with pq.ParquetWriter(path, record_schema) as writer:

            def put(records: list[Record]) -> int:
                rows = [
                    {f["FeatureName"]: f["ValueAsString"] for f in record} for record in records
                ]
                writer.write_table(pa.Table.from_pylist(rows, schema=record_schema))
                return len(rows)

            yield put
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        with path.open("rb") as body:
            client.put_object(Bucket=bucket, Key=key, Body=body)


def run_features(
    input_path: Path, output_dir: Path, sink: Sink | None, feature_group: str | None = None
) -> dict[str, Any]:
    """Read, ingest, split and report; returns the report written to ``report/features.json``."""
    from ml.io import sha256_files, table_files
    from pipelines.jobs.split_writer import SplitWriter, conformed_batches, test_rows

    files = table_files(input_path)
    is_test = test_rows(files, TEST_SHARE)
    ingested = frauds = offset = 0
    with SplitWriter(
        output_dir / "train" / "train.parquet", output_dir / "test" / "test.parquet"
    ) as out:
        for file in files:
            for batch in conformed_batches(file):
                held_out = is_test[offset : offset + len(batch)]
                offset += len(batch)
                if sink is not None:
                    for start in range(0, len(batch), RECORDS_AT_ONCE):
                        ingested += sink(to_records(batch.iloc[start : start + RECORDS_AT_ONCE]))
                out.write(batch[~held_out], batch[held_out])
                if schema.LABEL_COLUMN in batch:
                    frauds += int(batch[schema.LABEL_COLUMN].sum())
    rows = len(is_test)
    report = {
        "rows": rows,
        "train_rows": rows - int(is_test.sum()),
        "test_rows": int(is_test.sum()),
        "fraud_rate": frauds / rows if rows else 0.0,
        "data_sha256": sha256_files(files),
        "files": [p.name for p in files],
        "feature_group": feature_group,
        "ingested": ingested,
    }
    report_path = output_dir / "report" / "features.json"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


@contextmanager
def _sink(feature_group: str | None) -> Iterator[Sink | None]:
    """Where the records go: the feature group, the local records object, or nowhere."""
    if not feature_group:
        yield None
        return
    records_uri = os.environ.get(OFFLINE_RECORDS_ENV)
    if records_uri:
        with offline_records_sink(records_uri) as sink:
            yield sink
        return
    yield feature_store_sink(feature_group)


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    """The step's arguments: paths under /opt/ml/processing unless given."""
    root = Path("/opt/ml/processing")
    parser = argparse.ArgumentParser(description="Ingest validated records; split train/test.")
    parser.add_argument("--input", type=Path, default=root / "input" / "validated")
    parser.add_argument("--output", type=Path, default=root / "output")
    parser.add_argument("--feature-group", default=None, help="feature group to put records in")
    return parser.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    """Processing entry point."""
    from ml.errors import MlopsError

    args = parse_args(argv)
    try:
        with _sink(args.feature_group) as sink:
            report = run_features(args.input, args.output, sink, args.feature_group)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({k: report[k] for k in ("rows", "train_rows", "test_rows", "ingested")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
