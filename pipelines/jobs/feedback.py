"""The feedback job: captured requests joined with the labels that arrived, landed in ``raw/``.

Run hourly by the monitoring pipeline as its ``Feedback`` step (``python3 -m
pipelines.jobs.feedback``), beside drift and quality: one schedule, one job
role, and a failure alarm that covers all three. Production traffic becomes
training data here, so a retraining run after drift learns from the drifted
period.

A window is one clock hour of label arrivals (label files whose S3
``LastModified`` falls in it, under ``labels/<endpoint>/``, the quality job's
contract). Each run handles, oldest first, every full hour of the last
``--catch-up-hours`` that has no ledger entry yet (``feedback_ledger``), so a
missed run is made up and a repeated run lands nothing. For each window it
joins the labels with the capture of the ``--lookback-hours`` before the
window's end (a label may name a prediction that old): of that capture it reads
only the lines that hold the labels' event ids, as the step's index of the
look-back says (``feedback_capture``), so a capture file is read once to index
it and once per window it has labels in, and only its labelled lines parsed.
It drops the rows whose transaction id landed in an earlier window of the
look-back (a label sent twice, a week apart, lands once), and lands the rest
as one CSV drop at
``raw/feedback/<endpoint>/yyyy/mm/dd/hh.csv`` in the data bucket: an upstream
producer like any other (docs/pipeline.md), versioned by the Dataset step and
checked by Validate. The entry records what the row checks of ``ml.checks``
say of the drop, so a drop Validate will quarantine is visible before the next
training run. A label file that cannot be read is skipped and named in the
entry; the others still land.

Every run publishes its heartbeat (rows of capture read) for the staleness
alarm, even when nothing landed. ``--now`` fixes the clock.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ml.capture import EVENT_ID, Window
from ml.checks import check_file
from ml.errors import MlopsError
from ml.io import TABLE_SUFFIXES, read_table
from pipelines.jobs.capture_window import parse_instant
from pipelines.jobs.feedback_capture import CaptureIndex
from pipelines.jobs.feedback_ledger import HOUR, Ledger, csv_bytes, ids_in, put_once, raw_key
from pipelines.jobs.feedback_rows import labelled_rows, without_ids
from pipelines.jobs.monitoring_job import run_job

PROCESSING = Path("/opt/ml/processing")
REPORT_FILE = "feedback.json"
NO_LABELS, NOTHING_NEW, LANDED = "no_labels", "nothing_new", "landed"


def top_of_hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def window_hours(now: datetime, catch_up: int) -> list[datetime]:
    """The last ``catch_up`` full hours before ``now``, oldest first."""
    top = top_of_hour(now)
    return [top - HOUR * back for back in range(catch_up, 0, -1)]


def label_times(s3: Any, bucket: str, prefix: str) -> dict[str, datetime]:
    """Every label table under ``prefix`` and when it was written (S3 ``LastModified``)."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if Path(item["Key"]).suffix.lower() in TABLE_SUFFIXES:
                found[item["Key"]] = item["LastModified"]
    return found


def written_in(times: dict[str, datetime], start: datetime, end: datetime) -> list[str]:
    """The label tables written in ``[start, end)``, in key order."""
    return sorted(key for key, when in times.items() if start <= when < end)


def read_labels(
    s3: Any, bucket: str, keys: list[str], work: Path
) -> tuple[pd.DataFrame | None, list[dict[str, str]]]:
    """The readable label tables as one frame, and each refused file with its reason."""
    from ml.quality import prepare_labels

    frames, refused = [], []
    for number, key in enumerate(keys):
        path = work / f"{number:05d}{Path(key).suffix.lower()}"
        s3.download_file(bucket, key, str(path))
        try:
            frame = read_table(path)
            prepare_labels(frame)  # refuses a file without event_id or with labels not 0/1
        except (MlopsError, ValueError, OSError) as error:
            refused.append({"key": key, "reason": str(error).splitlines()[0]})
            continue
        frames.append(frame)
    return (pd.concat(frames, ignore_index=True) if frames else None), refused


def land_window(
    args: argparse.Namespace,
    s3: Any,
    ledger: Ledger,
    hour: datetime,
    inputs: tuple[CaptureIndex, dict[str, datetime]],
    work: Path,
) -> dict[str, Any]:
    """Land one window's new labelled rows (once) and record it in the ledger."""
    index, times = inputs
    keys = written_in(times, hour, hour + HOUR)
    entry: dict[str, Any] = {
        "window": {"start": hour.isoformat(), "end": (hour + HOUR).isoformat()}
    }
    labels, refused = read_labels(s3, args.bucket, keys, _folder(work / f"labels-{hour:%Y%m%d%H}"))
    entry.update(label_files=keys, refused_label_files=refused, status=NO_LABELS, ids=[])
    if labels is not None:
        since = hour + HOUR - timedelta(hours=args.lookback_hours)
        lookback = Window(since, hour + HOUR)
        files = index.holding(labels[EVENT_ID].astype(str), lookback)
        recent = index.batch(files, lookback, work / "capture").frame
        rows, entry["join"] = labelled_rows(recent, labels)
        entry["join"]["capture_files"] = len(files)
        seen = ledger.landed_ids(since - HOUR, hour)
        new = without_ids(rows, seen)
        entry["already_landed"] = len(rows) - len(new)
        entry["status"] = NOTHING_NEW
        if len(new):
            entry.update(_land(args, s3, hour, new, work))
    ledger.record(hour, entry)
    return entry


def _land(
    args: argparse.Namespace, s3: Any, hour: datetime, rows: pd.DataFrame, work: Path
) -> dict[str, Any]:
    key = raw_key(args.endpoint, hour)
    body = csv_bytes(rows)
    written, version_id = put_once(s3, args.data_bucket, key, body)
    ids = [int(i) for i in rows["transaction_id"]] if written else ids_in(s3, args.data_bucket, key)
    local = work / f"drop-{hour:%Y%m%d%H}.csv"
    local.write_bytes(body)
    checked = check_file(local)
    return {
        "status": LANDED,
        "landed": {
            "uri": f"s3://{args.data_bucket}/{key}",
            "version_id": version_id,
            "rows": len(ids),
            "written": written,
        },
        "checks_failed": sorted({failure.check for failure in checked.failures}),
        "ids": ids,
    }


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_feedback(
    args: argparse.Namespace, *, s3: Any, sagemaker: Any, cloudwatch: Any, work: Path
) -> dict[str, Any]:
    """Land every pending window; the report lists each window's ledger entry, ids left out."""
    now = args.now or datetime.now(UTC)
    ledger = Ledger(s3, args.bucket, args.ledger_prefix)
    ledger.load()
    candidates = window_hours(now, args.catch_up_hours)
    hours = [hour for hour in candidates if not ledger.done(hour)]
    source = {
        "bucket": args.bucket,
        "capture_prefix": args.capture_prefix,
        "labels_prefix": args.labels_prefix,
    }
    summary: dict[str, Any] = {"rows": 0}
    times = label_times(s3, args.bucket, args.labels_prefix) if hours else {}
    index = CaptureIndex(s3, args.bucket, args.capture_prefix, args.ledger_prefix)
    if hours:
        index.load()
        lookback = Window(hours[0] + HOUR - timedelta(hours=args.lookback_hours), hours[-1] + HOUR)
        index.refresh(lookback, work / "capture")
    entries = [land_window(args, s3, ledger, hour, (index, times), work) for hour in hours]
    if hours:
        ledger.save(keep_since=candidates[0] - timedelta(hours=args.lookback_hours + 1))
        index.save()
        summary = {**index.read_this_run(work / "capture").summary(), **index.describe()}
    landed = sum(e.get("landed", {}).get("rows", 0) for e in entries if e["status"] == LANDED)
    return {
        "status": LANDED if landed else (NOTHING_NEW if hours else "up_to_date"),
        "source": source,
        "capture": summary,
        "windows": [{k: v for k, v in e.items() if k != "ids"} for e in entries],
        "landed_rows": landed,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Land labelled production traffic in raw/.")
    parser.add_argument("--endpoint", required=True, help="the endpoint (heartbeat dimension)")
    parser.add_argument("--bucket", required=True, help="the monitoring bucket")
    parser.add_argument(
        "--capture-prefix", required=True, help="data-capture/<endpoint>/<variant>/"
    )
    parser.add_argument("--labels-prefix", required=True, help="labels/<endpoint>/")
    parser.add_argument("--ledger-prefix", required=True, help="feedback/<endpoint>/")
    parser.add_argument("--data-bucket", required=True, help="the data bucket (raw/feedback/)")
    parser.add_argument("--lookback-hours", type=int, default=168)
    parser.add_argument("--catch-up-hours", type=int, default=24)
    parser.add_argument("--out", type=Path, default=PROCESSING / "output" / "report" / REPORT_FILE)
    parser.add_argument("--now", type=parse_instant, default=None, help="ISO 8601")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Processing entry point; boto3 clients from the default chain (``AWS_ENDPOINT_URL`` too)."""
    result = run_job(run_feedback, _parser().parse_args(argv), "feedback-")
    if result is None:
        return 1
    print(
        json.dumps(
            {
                "status": result["status"],
                "landed_rows": result["landed_rows"],
                "windows": len(result["windows"]),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
