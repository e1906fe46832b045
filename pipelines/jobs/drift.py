"""The drift job: the last window of endpoint data capture against the serving model's baseline.

Run by the monitoring pipeline (``python3 -m pipelines.jobs.drift``) on the
stack's drift schedule. It reads the serving model package's artifact for the
drift baseline that training wrote beside the model, downloads the window's
capture files, writes the drift report where the step's processing output
uploads it (the monitoring bucket's ``drift/`` prefix), and publishes
``mlops/drift`` with the dimensions the drift alarms watch. An hour without
traffic is not a failure: the report says "no_traffic" and nothing is published,
so the alarms (missing data is not breaching) stay as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ml.capture import Window, read_capture
from ml.drift import Thresholds, capture_drift, load_baseline
from ml.errors import MlopsError
from ml.step_options import DRIFT_FILE
from pipelines.jobs.capture_window import (
    download_window,
    fetch_model_files,
    model_data_url,
    parse_instant,
)
from pipelines.jobs.drift_publish import publish_drift
from pipelines.jobs.monitoring_job import run_job

PROCESSING = Path("/opt/ml/processing")
REPORT_FILE = DRIFT_FILE  # the name the monitoring definition uploads, defined once
NO_TRAFFIC = "no_traffic"
MEASURED = "measured"


def run_drift_job(
    args: argparse.Namespace, *, s3: Any, sagemaker: Any, cloudwatch: Any, work: Path
) -> dict[str, Any]:
    """Fetch baseline and window, compute drift, publish it; the report says what happened."""
    window = Window.parse(hours=args.window_hours, now=args.now)
    source = {"bucket": args.bucket, "prefix": args.capture_prefix, **window.describe()}
    capture = work / "capture"
    files = download_window(s3, args.bucket, args.capture_prefix, window, capture)
    batch = read_capture(capture, window) if files else None
    if batch is None or (not len(batch.frame) and not batch.bad_lines):
        return {"status": NO_TRAFFIC, "source": source, "published": 0}
    if not len(batch.frame):
        raise MlopsError(
            f"s3://{args.bucket}/{args.capture_prefix}: none of {len(batch.bad_lines)} capture "
            "lines in the window could be read; check what writes the endpoint's capture"
        )
    model = fetch_model_files(s3, model_data_url(sagemaker, args.model_package_arn), work / "model")
    report = capture_drift(
        load_baseline(model),
        batch,
        capture,
        Thresholds(args.psi_warn, args.psi_alarm),
        window=window,
    )
    published = publish_drift(
        report, stack=args.stack, endpoint=args.endpoint, cloudwatch=cloudwatch
    )
    return {
        "status": MEASURED,
        "source": source,
        "model_package_arn": args.model_package_arn,
        "published": published,
        **report,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Drift of the endpoint's last capture window.")
    parser.add_argument("--stack", required=True, help="metric dimension Stack")
    parser.add_argument("--endpoint", required=True, help="metric dimension Endpoint")
    parser.add_argument("--bucket", required=True, help="the monitoring bucket")
    parser.add_argument(
        "--capture-prefix", required=True, help="data-capture/<endpoint>/<variant>/"
    )
    parser.add_argument("--model-package-arn", required=True, help="the serving model package")
    parser.add_argument("--window-hours", type=float, default=1.0)
    parser.add_argument("--psi-warn", type=float, default=Thresholds.psi_warn)
    parser.add_argument("--psi-alarm", type=float, default=Thresholds.psi_alarm)
    parser.add_argument("--out", type=Path, default=PROCESSING / "output" / "report" / REPORT_FILE)
    parser.add_argument(
        "--now", type=parse_instant, default=None, help="ISO 8601; the window ends at its hour"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Processing entry point; boto3 clients from the default chain (``AWS_ENDPOINT_URL`` too)."""
    result = run_job(run_drift_job, _parser().parse_args(argv), "drift-")
    if result is None:
        return 1
    summary = result.get("summary", {})
    print(json.dumps({"status": result["status"], "published": result["published"], **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
