"""``mlops monitoring ...``: operational commands around drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ops.commands.options import EndpointUrlOption, RegionOption

monitoring_app = typer.Typer(help="Publish drift metrics to CloudWatch.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(monitoring_app, name="monitoring")


@monitoring_app.command("publish-drift")
def publish_drift_command(
    report: Annotated[
        Path, typer.Option("--report", help="Drift report JSON written by 'mlops drift --out'.")
    ],
    stack: Annotated[
        str, typer.Option("--stack", help="Stack whose endpoint the batch came from.")
    ],
    endpoint: Annotated[str, typer.Option("--endpoint", help="Endpoint name (metric dimension).")],
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Send a drift report's PSI and CDF-distance figures to CloudWatch (namespace mlops/drift)."""
    from ops.aws import aws_session
    from pipelines.jobs.drift_publish import DriftReportError, publish_drift
    from pipelines.metrics import DRIFT_NAMESPACE

    try:
        document = json.loads(report.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DriftReportError(
            f"{report}: no such file; write one with 'mlops drift --out'"
        ) from None
    except json.JSONDecodeError:
        raise DriftReportError(
            f"{report}: not JSON; pass the file written by 'mlops drift --out'"
        ) from None
    cloudwatch = aws_session(region, endpoint_url).client("cloudwatch", endpoint_url=endpoint_url)
    sent = publish_drift(document, stack=stack, endpoint=endpoint, cloudwatch=cloudwatch)
    typer.echo(f"published {sent} drift metric values to {DRIFT_NAMESPACE} for {stack}/{endpoint}")
