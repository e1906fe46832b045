"""Options several command areas share, declared once so their names and help agree."""

from __future__ import annotations

from typing import Annotated

import typer

StackOption = Annotated[
    str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", help="AWS region (default: the stack's or the environment's)."),
]
EndpointUrlOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="AWS endpoint, e.g. a moto_server on 127.0.0.1.",
    ),
]
