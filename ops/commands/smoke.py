"""``mlops smoke``: the post-deploy check of a SageMaker endpoint or an HTTP server."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("smoke")(smoke)


def smoke(
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="SageMaker endpoint name to invoke.")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Base URL of a server with /ping and /invocations.")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region of the endpoint.")
    ] = None,
    budget_ms: Annotated[
        float, typer.Option("--budget-ms", help="Slowest acceptable answer, in milliseconds.")
    ] = 2000.0,
) -> None:
    """Send a known request, check the answer's shape and latency; exit 1 on any failure."""
    from ops.release.smoke import SmokeTestError, smoke_endpoint, smoke_http

    if (endpoint is None) == (url is None):
        raise SmokeTestError("give exactly one of --endpoint NAME or --url URL")
    if endpoint is not None:
        result = smoke_endpoint(endpoint, region=region, budget_ms=budget_ms)
    else:
        assert url is not None
        result = smoke_http(url, budget_ms=budget_ms)
    typer.echo(result.summary())
