"""The model quality job: the predictions old enough to be labelled, joined with their labels.

Run by the monitoring pipeline beside the drift job (``python3 -m
pipelines.jobs.quality``). Labels trail predictions: a fraud the model caught
is confirmed within hours, one it missed only when the cardholder disputes it
weeks later. Judging recent predictions would count the caught frauds and
miss the missed ones, so the job judges a cohort whose labels have had time to
arrive: the predictions made in the ``--window-hours`` that ended
``--label-delay-hours`` before the job's hour. The cohort moves on an hour
each run, so the step keeps a copy of the capture rows it read
(``quality_cohort``) and reads only the capture files that are new to it.

Ground truth lands as CSV or Parquet files under the monitoring bucket's
``labels/<endpoint>/`` (``ml.labels``: ``event_id`` = the capture's
``eventId``, ``is_fraud``, and ``event_row`` for multi-row requests). Every
label file written since the cohort began is read (an older one cannot hold
its labels), in key order. The matched rows are scored at the serving model's
own decision threshold against the evaluation registered with the serving
model package (``ml.quality_reference``), the report goes where the step's
output uploads it (``quality/``), and ``mlops/quality`` is published, stamped
with the job's clock. A cohort without traffic publishes nothing; one without
labels, or with fewer than ``--min-labelled-rows``, publishes its label
coverage and no quality.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ml.capture import Window
from ml.errors import MlopsError
from ml.io import read_table
from ml.labels import join_labels
from ml.quality import QUALITY_FILE, QualityLimits, compute_quality, load_threshold
from ml.quality_reference import load_reference
from ml.schema import LABEL_COLUMN
from ml.step_options import QualityOptions
from pipelines import metrics
from pipelines.jobs.capture_window import (
    download_tables,
    download_url,
    fetch_model_files,
    model_data_url,
    model_evaluation_url,
    parse_instant,
)
from pipelines.jobs.drift import MEASURED, NO_TRAFFIC, PROCESSING
from pipelines.jobs.monitoring_job import run_job
from pipelines.jobs.quality_cohort import CohortCapture, cache_key
from pipelines.jobs.quality_publish import coverage_values, points, publish_quality

NO_LABELS = "no_labels"
TOO_FEW_LABELS = "too_few_labels"


def mature_cohort(now: datetime, window_hours: float, label_delay_hours: float) -> Window:
    """The predictions whose labels have had ``label_delay_hours`` to arrive, by ``now``'s hour."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    end -= timedelta(hours=label_delay_hours)
    return Window(end - timedelta(hours=window_hours), end)


def run_quality_job(
    args: argparse.Namespace, *, s3: Any, sagemaker: Any, cloudwatch: Any, work: Path
) -> dict[str, Any]:
    """Fetch the mature cohort, its labels and the model's reference; compute quality, publish."""
    now = args.now or datetime.now(UTC)
    cohort = mature_cohort(now, args.window_hours, args.label_delay_hours)
    source = {
        "bucket": args.bucket,
        "capture_prefix": args.capture_prefix,
        "labels_prefix": args.labels_prefix,
        "label_delay_hours": args.label_delay_hours,
        **cohort.describe(),
    }
    cohort_capture = CohortCapture(s3, args.bucket, args.capture_prefix, cache_key(args.endpoint))
    cohort_capture.load()
    batch = cohort_capture.read(cohort, work / "capture")
    if batch.files:
        cohort_capture.save()
    source["capture_files"] = cohort_capture.describe()
    if not len(batch.frame):
        return {"status": NO_TRAFFIC, "source": source, "published": 0}
    label_files = download_tables(
        s3, args.bucket, args.labels_prefix, work / "labels", since=cohort.start
    )
    if not label_files:
        return {"status": NO_LABELS, "source": source, "published": 0}
    labels = read_table(work / "labels")
    matched, join = join_labels(batch.frame, labels)
    if join["matched"] < max(args.min_labelled_rows, 1):
        status = NO_LABELS if not join["matched"] else TOO_FEW_LABELS
        published = _publish_coverage(args, join, matched, cloudwatch, now)
        return {"status": status, "source": source, "join": join, "published": published}
    model = fetch_model_files(s3, model_data_url(sagemaker, args.model_package_arn), work / "model")
    reference = _reference(s3, sagemaker, args.model_package_arn, work)
    limits = QualityLimits(args.min_positives, args.min_segment_positives, args.min_label_coverage)
    report = compute_quality(
        batch.frame, labels, load_threshold(model), limits=limits, reference=reference
    )
    published = publish_quality(
        report, endpoint=args.endpoint, variant=args.variant, cloudwatch=cloudwatch, timestamp=now
    )
    return {
        "status": MEASURED,
        "source": source,
        "model_package_arn": args.model_package_arn,
        "published": published,
        "capture": batch.summary(),
        **report,
    }


def _publish_coverage(
    args: argparse.Namespace,
    join: dict[str, Any],
    matched: pd.DataFrame,
    cloudwatch: Any,
    now: datetime,
) -> int:
    """Too few labels to measure: how many there are is still worth a graph."""
    if not join["matched"]:
        return 0
    dimensions = metrics.quality_dimensions(args.endpoint, args.variant)
    values = coverage_values(join, int(matched[LABEL_COLUMN].sum()), dimensions)
    return metrics.put_metric_data(cloudwatch, metrics.QUALITY_NAMESPACE, points(values, now))


def _reference(s3: Any, sagemaker: Any, package_arn: str, work: Path) -> dict[str, Any] | None:
    """The serving model's evaluation, or None when its package registered none."""
    url = model_evaluation_url(sagemaker, package_arn)
    if url is None:
        return None
    try:
        return load_reference(download_url(s3, url, work / "evaluation" / "evaluation.json"))
    except MlopsError as error:
        raise MlopsError(f"{package_arn}: {error}") from None


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
    parser.add_argument("--window-hours", type=float, default=24.0, help="the cohort's length")
    parser.add_argument(
        "--label-delay-hours", type=float, default=0.0, help="how old the cohort's end is"
    )
    parser.add_argument("--min-labelled-rows", type=int, default=100)
    parser.add_argument("--min-positives", type=int, default=QualityOptions.min_positives)
    parser.add_argument(
        "--min-segment-positives", type=int, default=QualityOptions.min_segment_positives
    )
    parser.add_argument(
        "--min-label-coverage", type=float, default=QualityOptions.min_label_coverage
    )
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
