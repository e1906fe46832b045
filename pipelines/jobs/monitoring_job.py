"""What the drift and quality jobs share at their edge: AWS clients, a scratch folder, the report.

They run as SageMaker processing steps in the project image; boto3 clients
come from the default chain, so ``AWS_ENDPOINT_URL`` points them at an
emulator. A run that ends well sends the job's heartbeat (``heartbeat.py``;
the job is named by its scratch prefix, ``drift-`` -> ``drift``, at the
``--now`` instant when given). A failure is one line on stderr and exit 1, and
no heartbeat; the report is written where ``--out`` says, for the step's
output upload.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from pipelines.jobs.heartbeat import publish_heartbeat, rows_read

Job = Callable[..., dict[str, Any]]


def run_job(job: Job, args: argparse.Namespace, scratch_prefix: str) -> dict[str, Any] | None:
    """Run ``job(args, s3=, sagemaker=, cloudwatch=, work=)``; its result, or None on failure."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        with tempfile.TemporaryDirectory(prefix=scratch_prefix) as work:
            cloudwatch = boto3.client("cloudwatch")
            result = job(
                args,
                s3=boto3.client("s3"),
                sagemaker=boto3.client("sagemaker"),
                cloudwatch=cloudwatch,
                work=Path(work),
            )
            publish_heartbeat(
                cloudwatch,
                endpoint=args.endpoint,
                job=scratch_prefix.rstrip("-"),
                rows=rows_read(result),
                when=getattr(args, "now", None),
            )
    except (MlopsError, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    return result
