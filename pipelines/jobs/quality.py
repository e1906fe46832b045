"""The model quality job: captured predictions of a window joined with the labels that arrived.

Run by the monitoring pipeline beside the drift job (``python3 -m
pipelines.jobs.quality``). Ground truth lands as CSV or Parquet files under
the monitoring bucket's ``labels/<endpoint>/`` (``event_id`` = the capture's
``eventId``, ``is_fraud``, and ``event_row`` for multi-row requests; a
``merchant_category`` column is optional, the captured request has it). The
job reads the window's capture and the label files written since the window
began (older ones cannot hold its labels), scores the matched rows at
the serving model's own decision threshold, writes the report where the
step's output uploads it (``quality/``) and publishes ``mlops/quality``:
precision, recall, PR AUC and recall per merchant category with the largest
gap. A window without traffic, without matched labels, or with fewer than
``--min-labelled-rows`` of them publishes nothing and says why.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ml.capture import Window, read_capture
from ml.io import read_table
from ml.quality import (
    MIN_SEGMENT_POSITIVES,
    QUALITY_FILE,
    compute_quality,
    join_labels,
    load_threshold,
)
from pipelines.jobs.capture_window import (
    download_tables,
    download_window,
    fetch_model_files,
    model_data_url,
    parse_instant,
)
from pipelines.jobs.drift import MEASURED, NO_TRAFFIC, PROCESSING
from pipelines.jobs.monitoring_job import run_job
from pipelines.jobs.quality_publish import publish_quality

NO_LABELS = "no_labels"
TOO_FEW_LABELS = "too_few_labels"


def run_quality_job(
    args: argparse.Namespace, *, s3: Any, sagemaker: Any, cloudwatch: Any, work: Path
) -> dict[str, Any]:
    """Fetch window, labels and the model's threshold, compute quality, publish it."""
    window = Window.parse(hours=args.window_hours, now=args.now)
    source = {
        "bucket": args.bucket,
        "capture_prefix": args.capture_prefix,
        "labels_prefix": args.labels_prefix,
        **window.describe(),
    }
    capture = work / "capture"
    files = download_window(s3, args.bucket, args.capture_prefix, window, capture)
    batch = read_capture(capture, window) if files else None
    if batch is None or not len(batch.frame):
        return {"status": NO_TRAFFIC, "source": source, "published": 0}
    label_files = download_tables(
        s3, args.bucket, args.labels_prefix, work / "labels", since=window.start
    )
    if not label_files:
        return {"status": NO_LABELS, "source": source, "published": 0}
    labels = read_table(work / "labels")
    _, join = join_labels(batch.frame, labels)
    if join["matched"] < max(args.min_labelled_rows, 1):
        status = NO_LABELS if not join["matched"] else TOO_FEW_LABELS
        return {"status": status, "source": source, "join": join, "published": 0}
    model = fetch_model_files(s3, model_data_url(sagemaker, args.model_package_arn), work / "model")
    report = compute_quality(batch.frame, labels, load_threshold(model), args.min_positives)
    published = publish_quality(  # stamped with the job's clock: ``--now`` when given
        report,
        endpoint=args.endpoint,
        variant=args.variant,
        cloudwatch=cloudwatch,
        timestamp=args.now,
    )
    return {
        "status": MEASURED,
        "source": source,
        "model_package_arn": args.model_package_arn,
        "published": published,
        "capture": batch.summary(),
        **report,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Quality of the endpoint's labelled predictions.")
    parser.add_argument("--endpoint", required=True, help="metric dimension Endpoint")
    parser.add_argument("--variant", default="primary", help="metric dimension Variant")
    parser.add_argument("--bucket", required=True, help="the monitoring bucket")
    parser.add_argument(
        "--capture-prefix", required=True, help="data-capture/<endpoint>/<variant>/"
    )
    parser.add_argument("--labels-prefix", required=True, help="labels/<endpoint>/")
    parser.add_argument("--model-package-arn", required=True, help="the serving model package")
    parser.add_argument("--window-hours", type=float, default=24.0)
    parser.add_argument("--min-labelled-rows", type=int, default=100)
    parser.add_argument("--min-positives", type=int, default=MIN_SEGMENT_POSITIVES)
    parser.add_argument("--out", type=Path, default=PROCESSING / "output" / "report" / QUALITY_FILE)
    parser.add_argument("--now", type=parse_instant, default=None, help="ISO 8601")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Processing entry point; boto3 clients from the default chain (``AWS_ENDPOINT_URL`` too)."""
    result = run_job(run_quality_job, _parser().parse_args(argv), "quality-")
    if result is None:
        return 1
    summary = result.get("summary", {})
    gap = result.get("bias", {}).get("recall_gap", {}).get("value")
    line = {"status": result["status"], "published": result["published"], **summary}
    print(json.dumps({**line, "recall_gap": gap} if summary else line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
