"""The drift job: the last window of endpoint data capture against the serving model's baseline.

Run by the monitoring pipeline (``python3 -m pipelines.jobs.drift``) on the
stack's drift schedule. It reads the serving model package's artifact for the
drift baseline that training wrote beside the model, downloads the window's
capture files, writes the drift report where the step's processing output
uploads it (the monitoring bucket's ``drift/`` prefix), and publishes
``mlops/drift`` with the dimensions the drift alarms watch, stamped with the
job's clock (``--now``).

- An hour without traffic is not a failure: the report says "no_traffic" and
  nothing is published (the endpoint's own metrics show an idle endpoint, and
  a job that stops running is watched by its own alarm).
- A window with fewer than ``--min-rows`` rows publishes ``InsufficientData``
  = 1 and its row count, no PSI.
- With ``--score-reference-days`` N, the window's captured scores are compared
  with the serving model's scores of the traffic captured in the same clock
  hours on each of the N days before (``ml.score_drift``): score PSI and the
  flag-rate change, which catch changes the inputs do not show.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.capture import SCORE, Window, read_capture
from ml.drift import Thresholds, capture_drift, load_baseline
from ml.errors import MlopsError
from ml.score_drift import DEFAULT_TOLERANCE, score_drift
from ml.step_options import DRIFT_FILE, MIN_DRIFT_ROWS
from pipelines.jobs.capture_window import (
    download_window,
    fetch_model_files,
    model_data_url,
    parse_instant,
    same_hour_windows,
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
    now = args.now or datetime.now(UTC)
    window = Window.parse(hours=args.window_hours, now=now)
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
        min_rows=args.min_rows,
    )
    if args.score_reference_days and report["features"]:
        report["scores"] = same_hour_score_drift(args, s3, window, batch.frame, model, work)
    published = publish_drift(
        report, stack=args.stack, endpoint=args.endpoint, cloudwatch=cloudwatch, timestamp=now
    )
    return {
        "status": MEASURED,
        "source": source,
        "model_package_arn": args.model_package_arn,
        "published": published,
        **report,
    }


def same_hour_score_drift(
    args: argparse.Namespace,
    s3: Any,
    window: Window,
    frame: pd.DataFrame,
    model_dir: Path,
    work: Path,
) -> dict[str, Any]:
    """The window's scores against the serving model's scores of the same hours on earlier days.

    The reference traffic is scored again with the serving model, so a model
    that changed in between is compared with itself.
    """
    from ml.inference import SCORE_DECIMALS, model_fn, predict_fn

    frames = []
    for earlier in same_hour_windows(window, args.score_reference_days):
        folder = work / "reference" / f"{earlier.start:%Y%m%d%H}"
        if download_window(s3, args.bucket, args.capture_prefix, earlier, folder):
            frames.append(read_capture(folder, earlier).frame)
    reference_rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    model = model_fn(model_dir)
    reference = predict_fn(reference_rows, model)[:, 0] if len(reference_rows) else np.empty(0)
    # Rounded as the endpoint's answers are, so both samples share their ties (bins cut at them).
    reference = np.round(reference, SCORE_DECIMALS)
    result = score_drift(
        frame[SCORE].to_numpy(),
        reference,
        model.threshold,
        tolerance=args.flag_rate_tolerance,
        min_rows=args.min_rows,
    )
    return {**result, "reference_days": args.score_reference_days}


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
    parser.add_argument(
        "--min-rows", type=int, default=MIN_DRIFT_ROWS, help="fewer is insufficient data"
    )
    parser.add_argument(
        "--score-reference-days",
        type=int,
        default=0,
        help="compare scores with the same hours of this many earlier days (0: off)",
    )
    parser.add_argument("--flag-rate-tolerance", type=float, default=DEFAULT_TOLERANCE)
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
